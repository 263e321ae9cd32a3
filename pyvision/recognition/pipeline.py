"""Upload -> queue: what the web process does, and the sweep that sends again what
was lost on the way.

The worker's side (queue -> result) is in ``worker.py``. The two share nothing but the
database, the broker and the storage backend.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.db.models import Sum, Value
from django.db.models.functions import Coalesce
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from pyvision.engine.decode import declared_pixels

from . import access, files, storage_use
from .models import UNKNOWN_PIXELS, Image, Recognition
from .tasks import recognize

log = logging.getLogger(__name__)

# What a client refused for a full queue (or a server that is down) is told to wait.
RETRY_AFTER_SECONDS = 10


OWNER_QUEUE_FULL = "owner_queue_full"
STORAGE_QUOTA_EXCEEDED = "storage_quota_exceeded"


class OverLimit(Exception):
    """The owner may not send this upload now: too much of theirs is queued, or stored."""

    def __init__(self, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.code, self.message, self.retry_after = code, message, retry_after


def submit(upload: File, *, owner=None, session_key: str = "", model: str | None = None,
           top_k: int = 5, note: str = "", claimed_by: str = "") -> Recognition:
    """Store an upload and enqueue its recognition once the transaction commits; raises
    OverLimit, before storing anything, if the owner is over a limit. ``claimed_by``: the
    process that will recognise it itself (inline.py), named as a worker signs a claim:
    it is stored running, and not enqueued."""
    pixels = declared_pixels(upload)
    check_owner_limits(owner, session_key, upload.size, pixels)
    # Within a caller's transaction (idempotency.save_once), no savepoint: a failure
    # here fails the whole of it.
    with transaction.atomic(savepoint=False):
        image = Image(owner=owner, session_key=session_key, original_name=(upload.name or "")[-255:],
                      size=upload.size, pixels=pixels, note=note)
        image.file.save("upload", upload, save=False)
        files.upload_stored(image.file.name)
        image.save()
        storage_use.add(storage_use.of_image(image), image.size)
        now = timezone.now()
        claim = {"status": Recognition.Status.RUNNING, "started_at": now, "attempts": 1, "worker": claimed_by}
        recognition = Recognition.objects.create(image=image, model=model or settings.DEFAULT_MODEL, top_k=top_k,
                                                 created_at=now, **(claim if claimed_by else {}))
        if not claimed_by:
            enqueue(recognition.pk)
    _last_count["added_since"] += 1
    return recognition


def check_owner_limits(owner, session_key: str, size: int, pixels: int | None) -> None:
    """One owner may not fill the queue for everyone, nor the disk."""
    anonymous = owner is None
    queued = access.owned_recognitions(owner, session_key).filter(
        status__in=[Recognition.Status.QUEUED, Recognition.Status.RUNNING],
    ).aggregate(pixels=Sum(Coalesce("image__pixels", Value(UNKNOWN_PIXELS))))["pixels"] or 0
    # Always one at a time at least, however large.
    if queued and queued + (pixels or UNKNOWN_PIXELS) > settings.OWNER_QUEUE_MEGAPIXELS * 1_000_000:
        raise OverLimit(OWNER_QUEUE_FULL, _(
            "You have %(megapixels)d megapixels of photos waiting to be recognised; send more once they are "
            "done.") % {"megapixels": queued // 1_000_000}, RETRY_AFTER_SECONDS)
    if not anonymous:
        quota = settings.STORAGE_QUOTA_BYTES
    elif access.is_address_key(session_key):
        quota = settings.ADDRESS_STORAGE_QUOTA_BYTES
    else:
        quota = settings.ANONYMOUS_STORAGE_QUOTA_BYTES
    stored = storage_use.stored_bytes(owner, session_key)
    if stored + size > quota:
        message = _("Your photos take %(stored)s of your %(quota)s; delete some first.")
        if anonymous:
            message = _("Your photos take %(stored)s of the %(quota)s a visitor may keep; delete some, or "
                        "create an account for more room.")
        raise OverLimit(STORAGE_QUOTA_EXCEEDED, message % {
            "stored": filesizeformat(stored), "quota": filesizeformat(quota)})


def enqueue(recognition_id) -> None:
    """Send the recognition to the workers once the current transaction commits."""
    # robust: if the broker is down the upload is still accepted; the workers' sweep
    # (requeue_unfinished) enqueues it again once the broker is back.
    transaction.on_commit(lambda: recognize.delay(str(recognition_id)), robust=True)


def queue_depth() -> int:
    """Recognitions accepted and not yet taken by a worker, across every broker and host."""
    return Recognition.objects.filter(status=Recognition.Status.QUEUED).count()


# Counting the queue is a query on every upload. While the last count, plus what this
# process has added since, is under half the limit and under a second old, the queue
# cannot be full unless other processes added half a limit in that second: not counted.
RECOUNT_AFTER_SECONDS = 1.0
_last_count = {"at": float("-inf"), "depth": 0, "added_since": 0}


def queue_is_full() -> bool:
    """Backpressure: refuse new uploads (503) rather than let the queue pile up unseen."""
    now = time.monotonic()
    estimate = _last_count["depth"] + _last_count["added_since"]
    if now - _last_count["at"] < RECOUNT_AFTER_SECONDS and estimate < settings.QUEUE_LIMIT / 2:
        return False
    depth = queue_depth()
    _last_count.update(at=now, depth=depth, added_since=0)
    return depth >= settings.QUEUE_LIMIT


TOO_MANY_ATTEMPTS = "too_many_attempts"


def requeue_unfinished(older_than: timedelta, *, all_running: bool = False) -> int:
    """Enqueue again what a lost worker or a lost message left behind.

    Running recognitions older than ``older_than`` that name no worker go back to
    queued (those that name one are given back when its heartbeat stops: recovery.py,
    so a slow worker keeps its work), or all running ones with ``all_running``. Then
    every queued one older than that is enqueued again. Running twice is harmless:
    ``worker.run`` only claims a recognition that is still queued.
    """
    cutoff = timezone.now() - older_than
    abandoned = Recognition.objects.filter(status=Recognition.Status.RUNNING, started_at__lte=cutoff)
    give_back(abandoned if all_running else abandoned.filter(worker=""))
    stale = list(Recognition.objects.filter(status=Recognition.Status.QUEUED, created_at__lte=cutoff).values_list("pk", flat=True))
    for pk in stale:
        enqueue(pk)
    if stale:
        log.info("requeued %d unfinished recognitions", len(stale))
    return len(stale)


def give_back(abandoned) -> list:
    """Queue again running recognitions whose attempt was lost, unless they were lost
    RECOGNITION_MAX_ATTEMPTS times already: those fail. Returns the ids queued again."""
    abandoned = abandoned.filter(status=Recognition.Status.RUNNING)
    given_up = abandoned.filter(attempts__gte=settings.RECOGNITION_MAX_ATTEMPTS).update(
        status=Recognition.Status.FAILED,
        finished_at=timezone.now(),
        error_code=TOO_MANY_ATTEMPTS,
        error_message=f"The recognition was interrupted {settings.RECOGNITION_MAX_ATTEMPTS} times "
                      "(its worker stopped or was lost each time); it is not tried again.",
    )
    if given_up:
        log.warning("%d recognitions failed after %d attempts", given_up, settings.RECOGNITION_MAX_ATTEMPTS)
    ids = list(abandoned.values_list("pk", flat=True))
    # Only those still running: a late result may have come in since they were listed.
    Recognition.objects.filter(pk__in=ids, status=Recognition.Status.RUNNING).update(status=Recognition.Status.QUEUED)
    return ids


def recognize_again(image: Image, model: str) -> Recognition:
    """A new recognition of a stored image, e.g. with the other model."""
    with transaction.atomic():
        recognition = Recognition.objects.create(image=image, model=model)
        enqueue(recognition.pk)
    return recognition


def retry_failed(recognitions) -> int:
    """Send failed recognitions to the workers again; returns how many."""
    with transaction.atomic():
        ids = list(recognitions.filter(status=Recognition.Status.FAILED).values_list("pk", flat=True))
        Recognition.objects.filter(pk__in=ids).update(
            status=Recognition.Status.QUEUED, error_code="", error_message="", started_at=None, finished_at=None,
            attempts=0)
        for pk in ids:
            enqueue(pk)
    return len(ids)
