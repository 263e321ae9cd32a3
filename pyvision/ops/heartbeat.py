"""Live workers: each one writes its name, the time and what its self-check found every
HEARTBEAT_SECONDS, from Celery's worker signals (connected when the app loads), then
takes back the work that it, or a worker gone silent, cannot finish."""

import logging
from datetime import timedelta

from celery.signals import worker_ready, worker_shutdown
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone

from pyvision.recognition import recovery

from .models import WorkerHeartbeat

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
# A worker not heard of for this long is counted as gone.
LIVE_WITHIN = timedelta(seconds=3 * HEARTBEAT_SECONDS)
# ...and after this long its row is deleted (a worker killed outright never says goodbye).
FORGOTTEN_AFTER = timedelta(hours=1)

# Since when this worker's beats have all been written (None: the last one failed).
_beating = {"since": None}


@worker_ready.connect
def start_beating(sender, **kwargs):
    sender.timer.call_repeatedly(HEARTBEAT_SECONDS, beat)
    beat()


@worker_shutdown.connect
def leave(sender, **kwargs):
    try:
        forget()
    except (OperationalError, InterfaceError):
        pass  # the heartbeat ages out on its own


def beat() -> None:
    """A database that is down misses a beat, not the worker: the next one tries again."""
    # Imported here: web processes load this module, and do without onnxruntime.
    from pyvision.recognition import worker

    # On the worker's timer thread, which no task or request ends: a connection broken
    # by a database outage is dropped here, or it stays broken.
    close_old_connections()
    try:
        write(model_check=worker.model_checks())
        recover()
    except (OperationalError, InterfaceError) as exc:
        _beating["since"] = None
        log.warning("heartbeat not written: %s", exc)


def write(model_check: dict) -> None:
    """``model_check``: what the worker's self-check found for each model it has loaded."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(name=recovery.worker_name(), defaults={"last_seen": now, "model_check": model_check})
    WorkerHeartbeat.objects.filter(last_seen__lt=now - FORGOTTEN_AFTER).delete()


def recover() -> None:
    """Send again, within seconds, what this worker's attempts left stranded and what
    workers not heard of for LIVE_WITHIN were holding."""
    now = timezone.now()
    _beating["since"] = _beating["since"] or now
    if stranded := recovery.release_stranded():
        log.warning("%d recognitions left running by this worker's interrupted attempts: queued again", stranded)
    # After the database was away, every worker's beats are late: none is taken for gone
    # until each has had the time to beat again.
    if now - _beating["since"] < LIVE_WITHIN:
        return
    cutoff = now - LIVE_WITHIN
    gone = list(WorkerHeartbeat.objects.filter(last_seen__lt=cutoff).values_list("name", flat=True))
    sent = recovery.take_over(list(live().values_list("name", flat=True)), cutoff, one_just_gone=bool(gone))
    if gone:
        # Forgotten once taken over, so that its work is sent again once, not at every beat.
        WorkerHeartbeat.objects.filter(name__in=gone).delete()
        log.warning("workers gone silent: %s; %d recognitions sent again", ", ".join(gone), sent)
    elif sent:
        log.warning("%d recognitions of workers gone sent again", sent)


def model_verdicts() -> dict[str, str]:
    """Each model the live workers checked at start: "agrees", or "disagrees" if any worker's
    CPU gave it other answers than its float reference."""
    verdicts = {}
    for results in live().values_list("model_check", flat=True):
        for model, result in results.items():
            if verdicts.get(model) != "disagrees":
                verdicts[model] = "agrees" if result.get("agrees") else "disagrees"
    return dict(sorted(verdicts.items()))


def forget() -> None:
    WorkerHeartbeat.objects.filter(name=recovery.worker_name()).delete()


def live():
    return WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - LIVE_WITHIN)


def live_workers() -> int:
    return live().count()
