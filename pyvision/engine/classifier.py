"""Image bytes -> top-k classes (ImageNet's, or a custom model's labels), with onnxruntime."""

import time

import numpy as np
from PIL import Image

from .decode import DEFAULT_MAX_PIXELS, decode
from .preprocess import decode_size_hint, preprocess
from .registry import DEFAULT_MODEL, ModelSpec, get_spec, read_verified, verify
from .results import Prediction, RecognitionResult
from .synsets import ImageNetClass, load_classes


class Classifier:
    """One loaded model. Safe to call from several threads at once.

    onnxruntime's ``InferenceSession.run`` is thread-safe and releases the GIL, as
    does Pillow while it decodes and resizes.
    """

    def __init__(self, model: str | ModelSpec = DEFAULT_MODEL, *, threads: int = 1, max_pixels: int = DEFAULT_MAX_PIXELS,
                 spin: bool = True, memory_arena: bool = True, model_bytes: bytes | None = None):
        """A custom model's spec comes with its file's ``model_bytes``, checked against its sha256.

        ``spin=False`` when the process decodes on the same cores between runs:
        onnxruntime's threads otherwise busy-wait after each run, taking those cores
        from the decoding threads (about 20% of the throughput on 2 cores).
        ``memory_arena=False`` where memory is bounded: onnxruntime then returns what a
        batch used instead of keeping its largest batch's memory for the next one."""
        self.spec = get_spec(model) if isinstance(model, str) else model
        self.threads = threads
        self.max_pixels = max_pixels
        import onnxruntime as ort  # see the package's docstring

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not spin:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_cpu_mem_arena = memory_arena
        # A memory pattern is planned, and kept, for each batch size the model sees: with
        # batches of 1 to 4 images that held 25 MB more than running without, and no faster.
        options.enable_mem_pattern = False
        data = verify(self.spec, model_bytes) if model_bytes is not None else read_verified(self.spec)
        self._session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        self._input_name = self._session.get_inputs()[0].name
        # A custom label's id stands where an ImageNet class has its wnid.
        self._classes = ([ImageNetClass(i, label.id, label.names["en"]) for i, label in enumerate(self.spec.labels)]
                         if self.spec.is_custom else load_classes())

    @property
    def input_size(self) -> int:
        return self.spec.input_size

    def load_image(self, data: bytes) -> Image.Image:
        return decode(data, max_pixels=self.max_pixels, draft_size=self.decode_size_hint())

    def decode_size_hint(self) -> tuple[int, int]:
        return decode_size_hint(self.input_size, self.spec.crop_ratio)

    def prepare(self, data: bytes) -> np.ndarray:
        """Image bytes -> the model's input for one image; raises ImageError."""
        return self.preprocess(self.load_image(data))

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """A decoded RGB image -> the model's input, the way this model was trained."""
        return preprocess(image, self.input_size, crop_ratio=self.spec.crop_ratio, mean=self.spec.mean, std=self.spec.std)

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """A (n, 3, size, size) batch -> (n, classes) probabilities, and (n, d)
        embeddings of unit length where the model has an embedding output."""
        scores, *embeddings = self._session.run(None, {self._input_name: batch})
        # A model that ends in a Softmax already answers probabilities: a second softmax
        # would flatten them towards 1/classes.
        probabilities = scores if self.spec.output == "probabilities" else softmax(scores)
        return probabilities, unit_length(embeddings[0]) if embeddings else None

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return self.infer(batch)[0]

    def top_k(self, probabilities: np.ndarray, k: int = 5) -> list[Prediction]:
        order = np.argsort(probabilities)[::-1][:k]
        return [
            Prediction(rank=rank, index=int(i), wnid=self._classes[i].wnid,
                       label=self._classes[i].label, score=float(probabilities[i]))
            for rank, i in enumerate(order, start=1)
        ]

    def classify_batch(self, inputs: list[np.ndarray], k: int = 5) -> list[list[Prediction]]:
        if not inputs:
            return []
        probabilities = self.probabilities(np.stack(inputs))
        return [self.top_k(row, k) for row in probabilities]

    def recognize(self, data: bytes, k: int = 5) -> RecognitionResult:
        """Decode, preprocess and classify one image, timing each half."""
        started = time.perf_counter()
        pixels = self.prepare(data)
        decoded = time.perf_counter()
        probabilities, embeddings = self.infer(pixels[None])
        predictions = self.top_k(probabilities[0], k)
        finished = time.perf_counter()
        return RecognitionResult(predictions, (decoded - started) * 1000, (finished - decoded) * 1000, probabilities[0],
                                 None if embeddings is None else embeddings[0])


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def unit_length(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
