"""Upload -> queue -> worker -> result.

The web process calls ``submit``; the worker runs ``run``. They share nothing but the
database, the broker and the storage backend.
"""

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pyvision.engine import Classifier, ImageError
from pyvision.synsets.models import Synset

from .models import Image, Prediction, Recognition

log = logging.getLogger(__name__)

FILE_MISSING = "file_missing"
INTERNAL_ERROR = "internal_error"


def submit(upload: File, *, owner=None, session_key: str = "", model: str | None = None,
           top_k: int = 5, note: str = "") -> Recognition:
    """Store an upload and enqueue its recognition once the transaction commits."""
    with transaction.atomic():
        image = Image(owner=owner, session_key=session_key, original_name=(upload.name or "")[-255:],
                      size=upload.size, note=note)
        image.file.save("upload", upload, save=False)
        image.save()
        recognition = Recognition.objects.create(image=image, model=model or settings.DEFAULT_MODEL, top_k=top_k)
        enqueue(recognition.pk)
    return recognition


def enqueue(recognition_id) -> None:
    """Send the recognition to the workers once the current transaction commits."""
    from .tasks import recognize

    # robust: if the broker is down the upload is still accepted; the workers' sweep
    # (requeue_unfinished) enqueues it again once the broker is back.
    transaction.on_commit(lambda: recognize.delay(str(recognition_id)), robust=True)


_classifiers: dict[str, Classifier] = {}
_classifiers_lock = threading.Lock()


def classifier(model: str) -> Classifier:
    """Each worker process loads each model once, on first use."""
    with _classifiers_lock:
        if model not in _classifiers:
            _classifiers[model] = Classifier(model, threads=settings.ENGINE_THREADS, max_pixels=settings.MAX_IMAGE_PIXELS)
        return _classifiers[model]


def run(recognition_id: str) -> None:
    """Recognise one image. Idempotent: a recognition that is not queued is left alone."""
    started_at = timezone.now()
    claimed = Recognition.objects.filter(pk=recognition_id, status=Recognition.Status.QUEUED).update(
        status=Recognition.Status.RUNNING, started_at=started_at, attempts=F("attempts") + 1
    )
    if not claimed:
        log.info("recognition %s: not queued any more, skipped", recognition_id)
        return
    recognition = Recognition.objects.select_related("image").get(pk=recognition_id)
    try:
        with recognition.image.file.open("rb") as f:
            data = f.read()
        result = classifier(recognition.model).recognize(data, recognition.top_k)
    except ImageError as exc:
        fail(recognition, exc.code, exc.message)
    except FileNotFoundError:
        fail(recognition, FILE_MISSING, "The uploaded file is no longer in storage.")
    except Exception:
        log.exception("recognition %s: unexpected error", recognition_id)
        fail(recognition, INTERNAL_ERROR, "The recognition failed unexpectedly; it has been logged.")
    else:
        finish(recognition, result)


def finish(recognition: Recognition, result) -> None:
    finished_at = timezone.now()
    synsets = Synset.objects.in_bulk([p.index for p in result.predictions])
    with transaction.atomic():
        updated = _current_claim(recognition).update(
            status=Recognition.Status.DONE,
            finished_at=finished_at,
            queue_ms=_ms(recognition.started_at - recognition.created_at),
            decode_ms=result.decode_ms,
            inference_ms=result.inference_ms,
            total_ms=_ms(finished_at - recognition.created_at),
        )
        if updated:
            Prediction.objects.bulk_create(
                Prediction(recognition=recognition, rank=p.rank, synset=synsets[p.index], score=p.score)
                for p in result.predictions
            )
    log.info("recognition %s: done in %.1f ms", recognition.pk, _ms(finished_at - recognition.created_at))


def fail(recognition: Recognition, code: str, message: str) -> None:
    finished_at = timezone.now()
    _current_claim(recognition).update(
        status=Recognition.Status.FAILED,
        finished_at=finished_at,
        error_code=code,
        error_message=message,
        queue_ms=_ms(recognition.started_at - recognition.created_at),
        total_ms=_ms(finished_at - recognition.created_at),
    )
    log.info("recognition %s: failed with %s", recognition.pk, code)


def _current_claim(recognition: Recognition):
    # If this attempt was presumed lost and the recognition claimed again, only the
    # newest attempt may write the result: it is written exactly once.
    return Recognition.objects.filter(pk=recognition.pk, status=Recognition.Status.RUNNING, attempts=recognition.attempts)


def requeue_unfinished(older_than: timedelta) -> int:
    """Enqueue again what a lost worker or a lost message left behind.

    Running recognitions older than ``older_than`` go back to queued; then every queued
    one older than that is enqueued again. Running twice is harmless: ``run`` only
    claims a recognition that is still queued.
    """
    cutoff = timezone.now() - older_than
    Recognition.objects.filter(status=Recognition.Status.RUNNING, started_at__lte=cutoff).update(
        status=Recognition.Status.QUEUED
    )
    stale = list(Recognition.objects.filter(status=Recognition.Status.QUEUED, created_at__lte=cutoff).values_list("pk", flat=True))
    for pk in stale:
        enqueue(pk)
    if stale:
        log.info("requeued %d unfinished recognitions", len(stale))
    return len(stale)


def _ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000
