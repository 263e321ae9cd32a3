"""Live workers: each one writes its name, the time and what its self-check found every
HEARTBEAT_SECONDS, from Celery's worker signals (connected when the app loads)."""

import logging
import os
import socket
from datetime import timedelta

from celery.signals import worker_ready, worker_shutdown
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from .models import WorkerHeartbeat

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
# A worker not heard of for this long is counted as gone.
LIVE_WITHIN = timedelta(seconds=3 * HEARTBEAT_SECONDS)
# ...and after this long its row is deleted (a worker killed outright never says goodbye).
FORGOTTEN_AFTER = timedelta(hours=1)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


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

    try:
        write(model_check=worker.model_checks())
    except (OperationalError, InterfaceError) as exc:
        log.warning("heartbeat not written: %s", exc)


def write(model_check: dict) -> None:
    """``model_check``: what the worker's self-check found for each model it has loaded."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(name=worker_name(), defaults={"last_seen": now, "model_check": model_check})
    WorkerHeartbeat.objects.filter(last_seen__lt=now - FORGOTTEN_AFTER).delete()


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
    WorkerHeartbeat.objects.filter(name=worker_name()).delete()


def live():
    return WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - LIVE_WITHIN)


def live_workers() -> int:
    return live().count()
