"""A model file that is not the one built and committed is refused."""

import shutil

import pytest

from pyvision.engine.classifier import Classifier
from pyvision.engine.registry import MODELS
from pyvision.engine import registry
from pyvision.engine.registry import ModelIntegrityError


def test_every_model_file_matches_its_committed_sha256():
    for spec in [*MODELS.values(), registry.REFERENCE_MODEL]:
        assert registry.read_verified(spec)


def test_a_changed_model_file_is_refused(tmp_path, monkeypatch):
    shutil.copy(registry.MODELS_DIR / "SHA256SUMS", tmp_path)
    tampered = bytearray(MODELS["lite0"].path.read_bytes())
    tampered[len(tampered) // 2] ^= 0xFF
    (tmp_path / MODELS["lite0"].filename).write_bytes(tampered)
    monkeypatch.setattr(registry, "MODELS_DIR", tmp_path)
    registry.expected_sha256.cache_clear()
    try:
        with pytest.raises(ModelIntegrityError, match="sha256"):
            Classifier("lite0")
    finally:
        registry.expected_sha256.cache_clear()


def test_an_unknown_model_name_is_refused_with_the_choices():
    with pytest.raises(KeyError, match="lite0, lite2"):
        Classifier("resnet50")
