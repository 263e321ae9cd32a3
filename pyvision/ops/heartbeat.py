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


def forget() -> None:
    WorkerHeartbeat.objects.filter(name=worker_name()).delete()


def live_workers() -> int:
    return WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - LIVE_WITHIN).count()
