"""Recognition in the web process that received the upload, when its client waits for
the answer (``?wait``).

The image's bytes are in this process's memory and the model is loaded here for
classify: recognising here saves the broker's hop, a worker's claim and the read back
from storage, about half of what a recognition costs. It is as durable as one a worker
runs: stored before it starts, claimed under this process's name, its result written
once. If this process dies, the workers' heartbeat finds the claim of a process that
does not beat and queues the recognition again (recovery.take_over). Large images
still go to the workers, whose memory and turns are shared fairly.
"""

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings

from pyvision.custom_models import catalog
from pyvision.engine.batcher import Batcher, QueueFull
from pyvision.engine.decode import declared_pixels
from pyvision.engine.results import RecognitionResult

from . import pipeline, recovery
from .transient import TRANSIENT_ERRORS

_batchers: dict[str, Batcher] = {}
_batchers_lock = threading.Lock()
# As many as the requests that may be served at once.
_recognisers = ThreadPoolExecutor(max_workers=settings.WEB_THREADS, thread_name_prefix="inline")


def batcher(model: str) -> Batcher:
    """This web process's model, loaded on its first use (with onnxruntime: a web process
    that never recognises does without its memory). Concurrent requests share its batches."""
    key = catalog.version(model)
    with _batchers_lock:
        if key not in _batchers:
            # The model's threads sleep between batches: the cores are shared with the
            # request threads that decode the next images.
            classifier = catalog.classifier(model, threads=settings.CLASSIFY_ENGINE_THREADS,
                                            max_pixels=settings.MAX_IMAGE_PIXELS, spin=False)
            _batchers[key] = Batcher(classifier, max_batch=settings.CLASSIFY_BATCH_SIZE,
                                     max_wait_ms=settings.CLASSIFY_BATCH_WAIT_MS,
                                     queue_limit=settings.CLASSIFY_QUEUE_LIMIT)
        return _batchers[key]


def takes(upload) -> bool:
    """Whether this upload, whose client waits, is recognised here: an image whose
    header says it is small enough."""
    pixels = declared_pixels(upload)
    return pixels is not None and pixels <= settings.INLINE_MAX_PIXELS


def claimed_by() -> str:
    """The name this process's claims are signed with (submit's ``claimed_by``)."""
    return recovery.worker_name()


@dataclass(frozen=True)
class Begun:
    """The engine's work on an upload's bytes, begun while the request stores the upload:
    the decoded picture as soon as it is decoded (the request makes the thumbnail from it
    while the model runs), then the RecognitionResult."""

    picture: Future
    result: Future


def start(data: bytes, model: str, top_k: int) -> Begun:
    """Begin decoding and inferring an upload's bytes on a thread of this process, while
    the request stores the upload. Its result is written only by ``run``, once the upload
    is stored; if storing fails, it is dropped."""
    picture: Future = Future()

    def recognise() -> RecognitionResult:
        try:
            return batcher(model).recognize(data, top_k, decoded_to=picture.set_result)
        except BaseException as exc:
            if not picture.done():  # the picture's waiter learns why there is none
                picture.set_exception(exc)
            raise

    return Begun(picture, _recognisers.submit(recognise))


def run(recognition, started: Begun | None = None) -> RecognitionResult | None:
    """Recognise a recognition submitted with ``claimed_by=claimed_by()``: the work
    ``started`` on its bytes, or else its stored file. Returns the result once it is
    written (the instance then holds what was written), else None (failed, or taken by
    the workers: if the model's queue is full or the database or storage fails on the
    way)."""
    # onnxruntime is loaded with the first recognition, not with the web process.
    from . import worker

    try:
        return worker.recognise_claimed(recognition, started=started, loaded=batcher)
    except (QueueFull, *TRANSIENT_ERRORS):
        pipeline.enqueue(recognition.pk)
        return None
