"""Adaptive batching: images from concurrent callers go through the model together.

One thread per model runs the model; callers prepare their images (decode and
preprocess, which release the GIL and so run in parallel) and hand the pixels over.
While one batch runs, the next one gathers: under load the batches grow up to
``max_batch``, and a lone caller never waits for company unless ``max_wait_ms`` asks it to.
A caller that finds the model idle and nobody waiting runs its image itself: handing it
to the model's thread and back costs about 2 ms, a quarter of one image's time.
"""

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

import numpy as np

from .results import RecognitionResult

if TYPE_CHECKING:  # the caller brings the loaded model; this module needs no onnxruntime
    from PIL import Image

    from .classifier import Classifier


class QueueFull(Exception):
    """More images are waiting for the model than the queue holds: try again shortly."""


class Batcher:
    """``queue_limit``: images that may wait for the model; 0 for no limit, where the callers
    are bounded otherwise (a worker's threads)."""

    def __init__(self, classifier: "Classifier", *, max_batch: int = 16, max_wait_ms: float = 0, queue_limit: int = 64):
        self.classifier = classifier
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self._waiting: queue.Queue[tuple[np.ndarray, Future]] = queue.Queue(maxsize=queue_limit)
        # Held while the model runs, by the model's thread or by a lone caller.
        self._running = threading.Lock()
        self._gathered: np.ndarray | None = None
        threading.Thread(target=self._serve, name=f"batcher-{classifier.spec.name}", daemon=True).start()

    def submit(self, pixels: np.ndarray) -> Future:
        """Queue one image's model input; the future's result is its (1000,) probabilities
        and its embedding (None for a model without one)."""
        future: Future = Future()
        if self.max_wait == 0 and self._waiting.empty() and self._running.acquire(blocking=False):
            try:
                self._run([(pixels, future)])
            finally:
                self._running.release()
            return future
        try:
            self._waiting.put_nowait((pixels, future))
        except queue.Full:
            raise QueueFull() from None
        return future

    def recognize(self, data: bytes, k: int = 5, *,
                  decoded_to: "Callable[[Image.Image], None] | None" = None) -> RecognitionResult:
        """Like Classifier.recognize: decode and preprocess here, infer in the shared batch.
        ``inference_ms`` includes the wait for the batch. ``decoded_to`` gets the decoded
        picture before it goes to the model (thumbnails are made from it), on neither clock."""
        started = time.perf_counter()
        picture = self.classifier.load_image(data)
        pixels = self.classifier.preprocess(picture)
        decode_ms = (time.perf_counter() - started) * 1000
        if decoded_to is not None:
            decoded_to(picture)
        submitted = time.perf_counter()
        probabilities, embedding = self.submit(pixels).result()
        return RecognitionResult(self.classifier.top_k(probabilities, k), decode_ms,
                                 (time.perf_counter() - submitted) * 1000, probabilities, embedding)

    def _next_batch(self) -> list[tuple[np.ndarray, Future]]:
        batch = [self._waiting.get()]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch:
            try:
                remaining = deadline - time.monotonic()
                batch.append(self._waiting.get(timeout=remaining) if remaining > 0 else self._waiting.get_nowait())
            except queue.Empty:
                break
        return batch

    def _serve(self) -> None:
        while True:
            batch = self._next_batch()
            with self._running:
                self._run(batch)

    def _run(self, batch: list[tuple[np.ndarray, Future]]) -> None:
        try:
            probabilities, embeddings = self.classifier.infer(self._inputs(batch))
        except Exception as exc:  # the callers get the error; the thread lives on for the next batch
            for _, future in batch:
                future.set_exception(exc)
            return
        for i, (_, future) in enumerate(batch):
            future.set_result((probabilities[i], None if embeddings is None else embeddings[i]))

    def _inputs(self, batch: list[tuple[np.ndarray, Future]]) -> np.ndarray:
        first = batch[0][0]
        if len(batch) == 1:  # a lone caller's, or the model thread's
            return first[None]
        # Only the model's thread runs batches of several: each is gathered into the same
        # memory. A new array for each was page-faulted in afresh, 4% of a busy web process.
        if self._gathered is None:
            self._gathered = np.empty((self.max_batch, *first.shape), first.dtype)
        inputs = self._gathered[:len(batch)]
        for row, (pixels, _) in zip(inputs, batch):
            row[...] = pixels
        return inputs
