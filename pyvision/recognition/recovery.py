"""Work that a worker holds comes back within seconds when the worker cannot finish it.

Each worker process notes the recognitions it is running (``running``) and signs each
claim with its name. On each of its heartbeats (pyvision.ops.heartbeat) it gives back:
- its own recognitions that the database says it runs and it does not: an attempt
  that ended while the database was away could neither write its result nor give the
  recognition back;
- those of workers whose heartbeat stopped (killed, host lost), and the queued ones
  such a worker may have taken from the broker and not started.
A worker that is slow but alive keeps beating, so it keeps its work.
"""

import contextlib
import os
import socket
import threading
from datetime import datetime

from django.utils import timezone

from . import pipeline
from .models import Recognition

_running: set[str] = set()
_running_lock = threading.Lock()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def hold(recognition_id) -> None:
    """Before claiming a recognition: from now until ``let_go``, this worker runs it."""
    with _running_lock:
        _running.add(str(recognition_id))


def let_go(recognition_id) -> None:
    with _running_lock:
        _running.discard(str(recognition_id))


@contextlib.contextmanager
def running(recognition_id):
    """Around an attempt, from before its claim until it has written what it could."""
    hold(recognition_id)
    try:
        yield
    finally:
        let_go(recognition_id)


def release_stranded() -> int:
    """Give back this worker's recognitions that it no longer runs; returns how many."""
    # An attempt that begins after this instant claims with a later started_at.
    now = timezone.now()
    with _running_lock:
        here = list(_running)
    mine = Recognition.objects.filter(status=Recognition.Status.RUNNING, worker=worker_name(), started_at__lt=now)
    return resend(pipeline.give_back(mine.exclude(pk__in=here)))


def take_over(live: list[str], silent_since: datetime, *, one_just_gone: bool) -> int:
    """Give back what workers not in ``live`` were running: those started before
    ``silent_since`` (a worker is given that long to send its first beat). When a
    worker was ``one_just_gone``, also send again every queued recognition: it may have
    taken some from the broker and not started them, up to its death, which came at
    any time after its last beat. Sending one twice is harmless: only its first run
    claims it. Returns how many were sent."""
    abandoned = Recognition.objects.filter(status=Recognition.Status.RUNNING, started_at__lt=silent_since)
    ids = pipeline.give_back(abandoned.exclude(worker="").exclude(worker__in=live))
    if one_just_gone:
        # (Those just given back among them.)
        ids = set(Recognition.objects.filter(status=Recognition.Status.QUEUED).values_list("pk", flat=True))
    return resend(ids)


def resend(ids) -> int:
    for pk in ids:
        pipeline.enqueue(pk)
    return len(ids)
