"""Queue -> result: what a worker does with one recognition.

Each worker process loads each model once, reads the image through the storage API
(never a path it shares with the web process), and writes the result atomically, once.
"""

import logging
import threading
from datetime import timedelta

from django.conf import settings
from botocore.exceptions import ClientError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pyvision.custom_models import catalog
from pyvision.engine import selfcheck
from pyvision.engine.batcher import Batcher
from pyvision.engine.classifier import Classifier, RecognitionResult
from pyvision.engine.errors import ImageError

from . import finished
from .models import Prediction, Recognition
from .transient import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

FILE_MISSING = "file_missing"
MODEL_UNAVAILABLE = "model_unavailable"
INTERNAL_ERROR = "internal_error"
STORAGE_UNAVAILABLE = "storage_unavailable"

_models: dict[str, Batcher] = {}
_models_lock = threading.Lock()
_model_checks: dict[str, dict] = {}


def model(name: str) -> Batcher:
    """Each worker process loads each model once, on first use, and checks its answers on
    this CPU before the first recognition with it. The worker's threads (one per
    concurrent recognition) decode in parallel and share the model's batches."""
    key = catalog.version(name)
    with _models_lock:
        if key not in _models:
            # The model's threads sleep between batches: the cores are shared with the
            # threads that decode the next images.
            classifier = catalog.classifier(name, threads=settings.ENGINE_THREADS, max_pixels=settings.MAX_IMAGE_PIXELS,
                                            spin=False)
            if not classifier.spec.is_custom:  # a custom model has no float reference to check against
                _model_checks[name] = check(classifier)
            _models[key] = Batcher(classifier, max_batch=settings.WORKER_BATCH_SIZE, queue_limit=0)
        return _models[key]


def check(classifier: Classifier) -> dict:
    """Say, loudly if need be, whether this CPU gives the model's float reference answers."""
    found = selfcheck.check(classifier)
    if found.agrees:
        log.info("self-check: %s", found.summary)
    else:
        features = ", ".join(name for name, on in selfcheck.cpu()["features"].items() if on) or "no int8 features"
        log.warning("self-check: %s; its answers on this CPU (%s) are not to be trusted: run `pyvision doctor`",
                    found.summary, features)
    return {"agrees": found.agrees, "mean_distance": found.mean_distance}


def model_checks() -> dict[str, dict]:
    """What the self-check found for each model loaded so far, for the heartbeat and /readyz."""
    with _models_lock:
        return dict(_model_checks)


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
    log.info("recognition %s: attempt %d started", recognition_id, recognition.attempts)
    try:
        with recognition.image.file.open("rb") as f:
            data = f.read()
        result = model(recognition.model).recognize(data, recognition.top_k)
        finish(recognition, result)
    except ImageError as exc:
        fail(recognition, exc.code, exc.message)
    except catalog.UnknownModel as exc:
        fail(recognition, MODEL_UNAVAILABLE, str(exc))
    except Exception as exc:
        if is_missing_file(exc):
            fail(recognition, FILE_MISSING, "The uploaded file is no longer in storage.")
        elif isinstance(exc, TRANSIENT_ERRORS):
            # The storage or the database is away for a moment: give the recognition
            # back, and let the task be tried again (Celery's autoretry).
            release(recognition)
            raise
        else:
            log.exception("recognition %s: unexpected error", recognition_id)
            fail(recognition, INTERNAL_ERROR, "The recognition failed unexpectedly; it has been logged.")


def is_missing_file(exc: Exception) -> bool:
    if isinstance(exc, FileNotFoundError):
        return True
    # S3 reports a missing object as a ClientError with a 404 or NoSuchKey code.
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def release(recognition: Recognition) -> None:
    """Put this attempt's recognition back in the queue, or fail it after the last attempt."""
    try:
        if recognition.attempts >= settings.RECOGNITION_MAX_ATTEMPTS:
            fail(recognition, STORAGE_UNAVAILABLE, f"The image could not be read or its result written in "
                 f"{recognition.attempts} attempts; the storage or the database kept failing.")
        else:
            _current_claim(recognition).update(status=Recognition.Status.QUEUED)
            log.warning("recognition %s: attempt %d gave way to a passing error; queued again",
                        recognition.pk, recognition.attempts)
    except TRANSIENT_ERRORS:
        # Still unreachable: it stays running, and the sweep takes it again once stale.
        log.warning("recognition %s: could not be queued again yet", recognition.pk)


def finish(recognition: Recognition, result: RecognitionResult) -> None:
    finished_at = timezone.now()
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
            targets = catalog.prediction_targets(recognition.model, [p.index for p in result.predictions])
            Prediction.objects.bulk_create(
                Prediction(recognition=recognition, rank=p.rank, score=p.score, **target)
                for p, target in zip(result.predictions, targets)
            )
    if updated:
        finished.announce(recognition.pk)
        log.info("recognition %s: done in %.1f ms", recognition.pk, _ms(finished_at - recognition.created_at))
    else:
        log.info("recognition %s: attempt %d was superseded; its result is dropped", recognition.pk, recognition.attempts)


def fail(recognition: Recognition, code: str, message: str) -> None:
    finished_at = timezone.now()
    updated = _current_claim(recognition).update(
        status=Recognition.Status.FAILED,
        finished_at=finished_at,
        error_code=code,
        error_message=message,
        queue_ms=_ms(recognition.started_at - recognition.created_at),
        total_ms=_ms(finished_at - recognition.created_at),
    )
    if updated:
        finished.announce(recognition.pk)
    log.info("recognition %s: failed with %s", recognition.pk, code)


def _current_claim(recognition: Recognition):
    # If this attempt was presumed lost and the recognition claimed again, only the
    # newest attempt may write the result: it is written exactly once.
    return Recognition.objects.filter(pk=recognition.pk, status=Recognition.Status.RUNNING, attempts=recognition.attempts)


def _ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000
