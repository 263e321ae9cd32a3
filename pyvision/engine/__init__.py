"""The recognition engine: plain Python, no Django.

decode -> preprocess -> onnxruntime -> top-k, for one image or a batch.
"""

from .classifier import Classifier, Prediction, Recognition
from .errors import ImageError
from .registry import DEFAULT_MODEL, MODELS

__all__ = ["Classifier", "DEFAULT_MODEL", "ImageError", "MODELS", "Prediction", "Recognition"]
