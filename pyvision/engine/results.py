"""What the engine answers: plain data, importable without loading onnxruntime."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Prediction:
    rank: int
    index: int
    wnid: str
    label: str
    score: float


@dataclass(frozen=True)
class RecognitionResult:
    predictions: list[Prediction]
    decode_ms: float
    inference_ms: float
    # The (1000,) softmax the predictions were taken from, for what is derived from all of it.
    probabilities: Any = field(default=None, repr=False, compare=False)
    # The photo's embedding (unit length), for similar photos; None for a model without one.
    embedding: Any = field(default=None, repr=False, compare=False)
