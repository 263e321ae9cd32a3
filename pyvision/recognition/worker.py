"""Queue -> result: what a worker does with one recognition.

Each worker process loads each model once, reads the image through the storage API
(never a path it shares with the web process), and writes the result atomically, once.
"""

import json
import logging
import subprocess
import sys
import threading
from datetime import timedelta

from django.conf import settings
from botocore.exceptions import ClientError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pyvision.engine import selfcheck
from pyvision.engine.classifier import Classifier, RecognitionResult
from pyvision.engine.errors import ImageError

from .models import Prediction, Recognition
from .pipeline import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

FILE_MISSING = "file_missing"
INTERNAL_ERROR = "internal_error"
STORAGE_UNAVAILABLE = "storage_unavailable"
SELF_CHECK_TIMEOUT_SECONDS = 120

_classifiers: dict[str, Classifier] = {}
_classifiers_lock = threading.Lock()


def classifier(model: str) -> Classifier:
    """Each worker process loads each model once, on first use."""
    with _classifiers_lock:
        if model not in _classifiers:
            _classifiers[model] = Classifier(model, threads=settings.ENGINE_THREADS, max_pixels=settings.MAX_IMAGE_PIXELS)
        return _classifiers[model]


def check_models() -> dict:
    """Run `pyvision doctor` and say, loudly if need be, whether this CPU gives each served
    model's float reference answers.

    In a child process: the models it loads for the check leave with it, and a worker
    keeps only the models it is asked to use in memory.
    """
    try:
        done = subprocess.run([sys.executable, "-m", "pyvision", "doctor", "--json"], capture_output=True, text=True,
                              timeout=SELF_CHECK_TIMEOUT_SECONDS)
        report = json.loads(done.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        log.warning("self-check: `pyvision doctor` did not run; the models' answers on this CPU are unchecked",
                    exc_info=True)
        return {}
    return verdicts(report)


def verdicts(doctor_report: dict) -> dict:
    """Log what `pyvision doctor --json` found; {model: {"agrees", "mean_distance"}} for the heartbeat."""
    features = ", ".join(name for name, on in doctor_report["cpu"]["features"].items() if on) or "no int8 features"
    results = {}
    for found in doctor_report["models"]:
        check = selfcheck.ModelCheck(**found)
        if check.agrees:
            log.info("self-check: %s", check.summary)
        else:
            log.warning("self-check: %s; its answers on this CPU (%s) are not to be trusted: run `pyvision doctor`",
                        check.summary, features)
        results[check.model] = {"agrees": check.agrees, "mean_distance": check.mean_distance}
    return results


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
        result = classifier(recognition.model).recognize(data, recognition.top_k)
        finish(recognition, result)
    except ImageError as exc:
        fail(recognition, exc.code, exc.message)
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
            Prediction.objects.bulk_create(
                # A synset's primary key is its class index: no lookup needed.
                Prediction(recognition=recognition, rank=p.rank, synset_id=p.index, score=p.score)
                for p in result.predictions
            )
    if updated:
        log.info("recognition %s: done in %.1f ms", recognition.pk, _ms(finished_at - recognition.created_at))
    else:
        log.info("recognition %s: attempt %d was superseded; its result is dropped", recognition.pk, recognition.attempts)


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


def _ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000
