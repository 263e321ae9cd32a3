"""The models the engine can run, and where their verified files are."""

import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

MODELS_DIR = Path(__file__).parent / "models"

# EfficientNet-Lite's input normalisation: (pixel - mean) / std.
EFFICIENTNET_MEAN = (127.0, 127.0, 127.0)
EFFICIENTNET_STD = (128.0, 128.0, 128.0)


class ModelIntegrityError(RuntimeError):
    """A model file is missing or is not the file that was built and committed."""


@dataclass(frozen=True)
class Label:
    """One class of a custom model: its id (the user's, kept as given) and its names by language."""

    id: str
    names: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class ModelSpec:
    """A built-in model (its file under MODELS_DIR, its classes the ImageNet ones), or a
    custom one (its file's bytes come from elsewhere, checked against ``sha256``)."""

    name: str
    filename: str
    input_size: int
    description: str
    # The centre crop's side as a share of the image's shorter side; None: EfficientNet's.
    crop_ratio: float | None = None
    # Per channel, on the 0-255 scale.
    mean: tuple[float, float, float] = EFFICIENTNET_MEAN
    std: tuple[float, float, float] = EFFICIENTNET_STD
    # A custom model's classes in output order; empty for the ImageNet models.
    labels: tuple[Label, ...] = ()
    sha256: str = ""
    # What the model's output row is: "logits", which the engine softmaxes, or
    # "probabilities" (a model exported with its final Softmax), used as they are.
    output: str = "logits"

    @property
    def path(self) -> Path:
        return MODELS_DIR / self.filename

    @property
    def is_custom(self) -> bool:
        return bool(self.labels)


OUTPUT_KINDS = ("logits", "probabilities")

MODELS = {
    "lite0": ModelSpec("lite0", "efficientnet-lite0-int8.onnx", 224, "EfficientNet-Lite0, int8: fast"),
    "lite2": ModelSpec("lite2", "efficientnet-lite2-int8.onnx", 260, "EfficientNet-Lite2, int8: more accurate"),
}
DEFAULT_MODEL = "lite0"

# The float model the int8 one was quantised from, kept to check that quantisation
# did not change what the model sees. Not offered to users.
REFERENCE_MODEL = ModelSpec("lite0-fp32", "efficientnet-lite0-fp32.onnx", 224, "EfficientNet-Lite0, float32 reference")


def get_spec(name: str) -> ModelSpec:
    if name == REFERENCE_MODEL.name:
        return REFERENCE_MODEL
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"Unknown model {name!r}; choose one of: {', '.join(MODELS)}.") from None


@cache
def expected_sha256() -> dict[str, str]:
    sums = {}
    for line in (MODELS_DIR / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, filename = line.split(maxsplit=1)
            sums[filename.lstrip("*")] = digest
    return sums


def verify(spec: ModelSpec, data: bytes) -> bytes:
    """A custom model's bytes, after checking them against the sha256 it was added with."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != spec.sha256:
        raise ModelIntegrityError(f"Model {spec.name!r} has sha256 {actual}, expected {spec.sha256}.")
    return data


def read_verified(spec: ModelSpec) -> bytes:
    """The model file's bytes, after checking them against SHA256SUMS."""
    try:
        data = spec.path.read_bytes()
    except FileNotFoundError:
        raise ModelIntegrityError(f"Model file {spec.path} is missing; run `make models`.") from None
    expected = expected_sha256().get(spec.filename)
    actual = hashlib.sha256(data).hexdigest()
    if expected != actual:
        raise ModelIntegrityError(f"Model file {spec.path} has sha256 {actual}, expected {expected}.")
    return data
