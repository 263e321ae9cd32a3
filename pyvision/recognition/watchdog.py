"""A worker that the broker no longer feeds exits, so that its supervisor starts a fresh one.

After the broker restarts, Celery's consumer can come back connected and yet receive
nothing (celery/celery#8091, #9054, #10205): the worker beats, looks alive, and the
recognitions wait. The sweep sends what waits again every little while (startup.py), so
a worker that has been idle all along while a recognition stayed queued longer than a
few sweeps, with the broker answering, is not being fed. It stops with EXIT_STARVED;
systemd's unit (Restart=always) and `pyvision run`'s supervisor start it again, and a
fresh consumer takes the work. It runs nothing when it stops, so nothing is lost.
"""

import logging
import os
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import recovery
from .models import Recognition

log = logging.getLogger(__name__)

# EX_TEMPFAIL: the supervisor may start it again at once.
EXIT_STARVED = 75
CHECK_SECONDS = 5

_last_fed = {"at": time.monotonic()}


def fed() -> None:
    """A message came from the broker (each task run)."""
    _last_fed["at"] = time.monotonic()


def starved_after(sweep_interval: float) -> timedelta:
    """How long a recognition may wait, with this worker idle, before the worker counts as
    starved: past the stale time, and three sweeps that sent it again."""
    return timedelta(seconds=settings.RECOGNITION_STALE_SECONDS + 3 * sweep_interval)


def check(sweep_interval: float) -> None:
    limit = starved_after(sweep_interval)
    if time.monotonic() - _last_fed["at"] < limit.total_seconds() or recovery.runs_any():
        return
    waiting = Recognition.objects.filter(status=Recognition.Status.QUEUED, created_at__lte=timezone.now() - limit)
    if not waiting.exists() or not broker_answers():
        return  # nothing waits for it, or the broker is down: nothing a restart would mend
    log.error("the broker has handed this worker nothing for %d s while recognitions waited longer; it stops "
              "(exit %d) for its supervisor to start it again", limit.total_seconds(), EXIT_STARVED)
    for handler in logging.getLogger().handlers:
        handler.flush()
    # From the timer's thread, around a consumer that may be stuck: no orderly shutdown
    # is sure to come back, and there is nothing running to finish.
    os._exit(EXIT_STARVED)


def broker_answers() -> bool:
    from pyvision.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
    except Exception:  # any transport's error means the same here
        return False
    return True
