"""Queue -> result: what a worker does with one recognition.

Each worker process loads each model once, reads the image through the storage API
(never a path it shares with the web process), and writes the result atomically, once.
"""

import functools
import hashlib
import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from botocore.exceptions import ClientError
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

import pyvision
from pyvision.custom_models import catalog
from pyvision.engine import selfcheck
from pyvision.engine.batcher import Batcher, QueueFull
from pyvision.engine.classifier import Classifier, RecognitionResult
from pyvision.engine import errors
from pyvision.engine.errors import ImageError
from pyvision.engine.registry import MODELS

from . import access, files, finished, recovery
from .logs import about_recognition
from .models import UNKNOWN_PIXELS, Prediction, Recognition
from .signals import recognition_done
from .transient import TRANSIENT_ERRORS

if TYPE_CHECKING:  # inline imports this module
    from .inline import Begun

log = logging.getLogger(__name__)

FILE_MISSING = "file_missing"
MODEL_UNAVAILABLE = "model_unavailable"
INTERNAL_ERROR = "internal_error"
STORAGE_UNAVAILABLE = "storage_unavailable"

# A file that fails with these is no image: it is not kept (its failed recognition is).
NOT_IMAGES = (errors.NOT_AN_IMAGE, errors.EMPTY_FILE)

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
            # threads that decode the next images. Without onnxruntime's arena, the memory
            # of the last batch is not kept on top of a large image's decode (the worker
            # stays within its bound; see engine/memory.py).
            classifier = catalog.classifier(name, threads=settings.ENGINE_THREADS, max_pixels=settings.MAX_IMAGE_PIXELS,
                                            spin=False, memory_arena=False)
            if not classifier.spec.is_custom and name not in _model_checks:
                _model_checks[name] = check(classifier)
            _models[key] = Batcher(classifier, max_batch=settings.WORKER_BATCH_SIZE, queue_limit=0)
        return _models[key]


def loads_model_at_start() -> bool:
    """Whether a worker loads the default model as it starts. Not where the web processes
    recognise the clients that wait (the embedded mode): its worker may get no work for
    a long time, and leaves the model's memory to the first recognition that needs it."""
    return not settings.INLINE_MAX_PIXELS or settings.DEFAULT_MODEL not in MODELS


def get_ready() -> None:
    """At start: load the default model and check its answers on this CPU; or, where it
    is not loaded at start, take the check ``pyvision setup`` made (``check_ahead``), or
    make it in a child process."""
    name = settings.DEFAULT_MODEL
    if loads_model_at_start():
        model(name)
        return
    found = reported(cache.get(_check_key(name)) or _check_and_keep(name))
    with _models_lock:
        _model_checks[name] = found


def check_ahead() -> None:
    """For ``pyvision setup``, before the workers start: check the default model on this
    CPU for those that will not load it at start. Made again by each setup, so an upgrade
    never leaves the last release's answer."""
    if not loads_model_at_start():
        _check_and_keep(settings.DEFAULT_MODEL)


def _check_and_keep(name: str) -> selfcheck.ModelCheck:
    found = selfcheck.check_apart(name)
    cache.set(_check_key(name), found, timeout=None)
    return found


@functools.cache
def _check_key(name: str) -> str:
    """The same for a process's life: it reads the model file's and the reference's
    sums, the CPU and the installed packages."""
    conditions = f"{pyvision.__version__}:{selfcheck.conditions(name)}"
    return f"selfcheck:{hashlib.sha256(conditions.encode()).hexdigest()[:32]}"


def check(classifier: Classifier) -> dict:
    return reported(selfcheck.check(classifier))


def reported(found: selfcheck.ModelCheck) -> dict:
    """Say, loudly if need be, whether this CPU gives the model's float reference answers."""
    if found.agrees:
        log.info("self-check: %s", found.summary)
    else:
        features = ", ".join(name for name, on in selfcheck.cpu()["features"].items() if on) or "no int8 features"
        log.warning("self-check: %s; its answers on this CPU (%s) are not to be trusted: run `pyvision doctor`",
                    found.summary, features)
    return {"agrees": found.agrees, "mean_distance": found.mean_distance}


def model_checks() -> dict[str, dict]:
    """What the self-check found for each model checked so far, for the heartbeat and /readyz."""
    with _models_lock:
        return dict(_model_checks)


def run(recognition_id: str) -> None:
    """Recognise one queued image: the one whose owner is waiting most, which may not be
    ``recognition_id`` (see ``claim``). Idempotent: with nothing queued, nothing is done."""
    claimed_id = claim(recognition_id)
    if claimed_id is None:
        log.info("recognition %s: not queued any more, and nothing else is; skipped", recognition_id)
        return
    if str(claimed_id) != str(recognition_id):
        log.info("recognition %s: its turn goes to %s, whose owner has less being recognised", recognition_id, claimed_id)
    try:
        with about_recognition(claimed_id):
            recognise(claimed_id)
    finally:
        recovery.let_go(claimed_id)


def recognise(recognition_id) -> None:
    """Recognise a recognition this worker has claimed, and write its result once."""
    recognise_claimed(Recognition.objects.select_related("image").get(pk=recognition_id))


def recognise_claimed(recognition: Recognition, *, started: "Begun | None" = None, loaded=model) -> RecognitionResult | None:
    """``recognition``, as its claim left it, with its image. ``started``: the engine's
    work on the image, begun by the web process that received it while it stored the
    upload (inline.start): the thumbnail is made from its picture while the model runs.
    Else the stored file is recognised with ``loaded``, this process's models. Returns
    the result once it is written (the instance then holds what was written), else None."""
    log.info("recognition %s: attempt %d started", recognition.pk, recognition.attempts)
    if not recognition.image.file:
        fail(recognition, FILE_MISSING, "The uploaded file was not an image and has not been kept.")
        return
    try:
        result, thumbnail = _recognised(recognition, started, loaded)
        return result if finish(recognition, result, thumbnail) else None
    except ImageError as exc:
        fail(recognition, exc.code, exc.message)
    except catalog.UnknownModel as exc:
        fail(recognition, MODEL_UNAVAILABLE, str(exc))
    except Exception as exc:
        if is_missing_file(exc):
            fail(recognition, FILE_MISSING, "The uploaded file is no longer in storage.")
        elif isinstance(exc, (QueueFull, *TRANSIENT_ERRORS)):
            # The storage or the database is away for a moment, or (in a web process) the
            # model's queue is full: give the recognition back, and let the task be tried
            # again (Celery's autoretry).
            release(recognition)
            raise
        else:
            log.exception("recognition %s: unexpected error", recognition.pk)
            fail(recognition, INTERNAL_ERROR, "The recognition failed unexpectedly; it has been logged.")


def _recognised(recognition: Recognition, started: "Begun | None", loaded) -> tuple[RecognitionResult, str]:
    """The engine's result, and the stored name of the thumbnail made from the same decode
    ("" if the image has one). If the recognition fails after the thumbnail is made (the
    model's queue full, an inference error), the thumbnail is removed."""
    made = {}

    def make_thumbnail(picture) -> None:
        made["name"] = files.save_thumbnail(recognition.image, picture)

    try:
        if started is not None:
            make_thumbnail(started.picture.result())
            result = started.result.result()
        else:
            with recognition.image.file.open("rb") as f:
                data = f.read()
            result = loaded(recognition.model).recognize(data, recognition.top_k, decoded_to=make_thumbnail)
    except BaseException:
        if made.get("name"):
            files.delete_files([made["name"]])
        raise
    return result, made.get("name", "")


# How often a worker looks again for the fairest recognition when another worker took it first.
CLAIM_TRIES = 5


def claim(recognition_id):
    """Take a queued recognition: the oldest of the owner with the fewest pixels being
    recognised right now, so one owner's 40 large images do not hold up everyone else's
    photo. Returns its id, or None if nothing is queued.

    Every queued recognition was sent as one message, so each message is a turn for
    whichever is fairest: there are never fewer turns than recognitions queued, and
    a recognition whose own message ran for another is taken by a later message.
    """
    for _ in range(CLAIM_TRIES):
        waiting = list(Recognition.objects.filter(status=Recognition.Status.QUEUED).values(
            "image__owner_id", "image__session_key").annotate(oldest=Min("created_at")))
        if not waiting:
            return None
        # With one owner waiting there is no one to be fair to: the message's own recognition.
        if len(waiting) == 1 and _take(recognition_id):
            return recognition_id
        pk = oldest_of(fairest(waiting))
        if pk is not None and _take(pk):
            return pk
    return recognition_id if _take(recognition_id) else None


def _take(pk) -> bool:
    """Claim ``pk``, signed with this worker's name; held from before the claim, so that
    this worker's own heartbeat never gives it back (recovery.release_stranded)."""
    recovery.hold(pk)
    taken = bool(Recognition.objects.filter(pk=pk, status=Recognition.Status.QUEUED).update(
        status=Recognition.Status.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1,
        worker=recovery.worker_name()))
    if not taken:
        recovery.let_go(pk)
    return taken


def fairest(waiting: list[dict]) -> dict:
    """Of the owners waiting (rows of owner, session and oldest queued), the one with the
    fewest pixels being recognised, then the one waiting longest."""
    being_recognised: dict = {}
    for owner_id, session_key, pixels in Recognition.objects.filter(status=Recognition.Status.RUNNING).values_list(
            "image__owner_id", "image__session_key", "image__pixels"):
        key = owner_id or session_key
        being_recognised[key] = being_recognised.get(key, 0) + (pixels or UNKNOWN_PIXELS)
    return min(waiting, key=lambda row: (being_recognised.get(row["image__owner_id"] or row["image__session_key"], 0),
                                         row["oldest"]))


def oldest_of(owner: dict):
    recognitions = access.owned_recognitions(owner["image__owner_id"], owner["image__session_key"])
    return recognitions.filter(status=Recognition.Status.QUEUED).order_by(
        "created_at").values_list("pk", flat=True).first()


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


def finish(recognition: Recognition, result: RecognitionResult, thumbnail: str = "") -> bool:
    """Write the result, and the thumbnail made from the same decode, in one transaction;
    False if another attempt has the recognition now."""
    finished_at = timezone.now()
    outcome = dict(status=Recognition.Status.DONE, finished_at=finished_at,
                   queue_ms=_ms(recognition.started_at - recognition.created_at), decode_ms=result.decode_ms,
                   inference_ms=result.inference_ms, total_ms=_ms(finished_at - recognition.created_at))
    linked = attached = False
    try:
        with transaction.atomic():
            updated = _current_claim(recognition).update(**outcome)
            if updated:
                targets = catalog.prediction_targets(recognition.model, [p.index for p in result.predictions])
                Prediction.objects.bulk_create(
                    Prediction(recognition=recognition, rank=p.rank, score=p.score, **target)
                    for p, target in zip(result.predictions, targets)
                )
                recognition_done.send(Recognition, recognition=recognition, result=result)
                linked = bool(thumbnail) and files.attach_thumbnail(recognition.image, thumbnail)
        attached = linked  # committed
    finally:
        # Superseded, raced by another thumbnail, or rolled back: no row names this file.
        if thumbnail and not attached:
            files.delete_files([thumbnail])
    if updated:
        # Committed: the caller may answer from the instance instead of reading it back.
        for field, value in outcome.items():
            setattr(recognition, field, value)
        finished.announce(recognition.pk)
        log.info("recognition %s: done in %.1f ms", recognition.pk, _ms(finished_at - recognition.created_at))
    else:
        log.info("recognition %s: attempt %d was superseded; its result is dropped", recognition.pk, recognition.attempts)
    return bool(updated)


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
        if code in NOT_IMAGES:
            files.forget_file(recognition.image)
        finished.announce(recognition.pk)
    log.info("recognition %s: failed with %s", recognition.pk, code)


def _current_claim(recognition: Recognition):
    # If this attempt was presumed lost and the recognition claimed again, only the
    # newest attempt may write the result: it is written exactly once.
    return Recognition.objects.filter(pk=recognition.pk, status=Recognition.Status.RUNNING, attempts=recognition.attempts)


def _ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000
