"""What the engine answers: plain data, importable without loading onnxruntime."""

from dataclasses import dataclass


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
