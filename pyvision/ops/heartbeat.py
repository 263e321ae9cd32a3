"""Live workers: each one writes its name and the time every HEARTBEAT_SECONDS."""

import os
import socket
from datetime import timedelta

from django.utils import timezone

from .models import WorkerHeartbeat

HEARTBEAT_SECONDS = 5
# A worker not heard of for this long is counted as gone.
LIVE_WITHIN = timedelta(seconds=3 * HEARTBEAT_SECONDS)
# ...and after this long its row is deleted (a worker killed outright never says goodbye).
FORGOTTEN_AFTER = timedelta(hours=1)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat() -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(name=worker_name(), defaults={"last_seen": now})
    WorkerHeartbeat.objects.filter(last_seen__lt=now - FORGOTTEN_AFTER).delete()


def report_model_check(results: dict) -> None:
    WorkerHeartbeat.objects.update_or_create(name=worker_name(),
                                             defaults={"last_seen": timezone.now(), "model_check": results})


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
