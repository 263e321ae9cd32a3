"""A model file that is not the one built and committed is refused, and the committed
int8 graphs cannot saturate on any CPU."""

import shutil

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

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


# x86 CPUs without VNNI multiply uint8 activations by int8 weights with VPMADDUBSW, which
# adds two products into a saturating int16: 2 * 255 * 64 fits, 2 * 255 * 65 does not.
# Whatever CPU runs this test, a weight beyond 64 would give wrong answers on those.
LARGEST_SAFE_WEIGHT = 64


@pytest.mark.parametrize("model", sorted(MODELS))
def test_no_int8_weight_can_saturate_the_avx2_path(model):
    graph = onnx.load(str(MODELS[model].path)).graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    weights = [numpy_helper.to_array(initializers[node.input[0]]) for node in graph.node
               if node.op_type == "DequantizeLinear" and node.input[0] in initializers]
    int8_weights = [w for w in weights if w.dtype == np.int8]
    assert len(int8_weights) >= 40, "the model's convolutions should be quantised"
    largest = max(int(np.abs(w.astype(np.int16)).max()) for w in int8_weights)
    assert largest <= LARGEST_SAFE_WEIGHT
    # ...and the activations they meet are uint8, the case the bound above is for.
    activation_zero_points = [numpy_helper.to_array(initializers[node.input[2]]) for node in graph.node
                              if node.op_type == "QuantizeLinear"]
    assert activation_zero_points and all(z.dtype == np.uint8 for z in activation_zero_points)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_each_model_gives_its_embedding_beside_the_logits(model, photo):
    """The pooled features before the classifier, a second output, for similar photos."""
    classifier = Classifier(model)
    probabilities, embeddings = classifier.infer(np.stack([classifier.prepare(photo("coffee.png"))] * 2))
    assert probabilities.shape == (2, 1000) and embeddings.shape == (2, 1280)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-5)
