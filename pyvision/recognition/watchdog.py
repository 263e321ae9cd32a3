"""A worker that the broker no longer feeds exits, so that its supervisor starts a fresh one.

After the broker restarts, Celery's consumer can come back connected and yet receive
nothing (celery/celery#8091, #9054, #10205): the worker beats, looks alive, and the
recognitions wait. The sweep sends what waits again every little while (startup.py), so
a worker that has been idle all along while a recognition stayed queued longer than a
few sweeps, with the broker answering, is not being fed. It stops with EXIT_STARVED;
systemd's unit (Restart=always) and `pyvision run`'s supervisor start it again, and a
fresh consumer takes the work. It holds no task when it stops, so nothing is lost.
"""

import logging
import os
import time
from datetime import timedelta

from celery.signals import task_received
from celery.worker import state as worker_state
from django.conf import settings
from django.utils import timezone

from .models import Recognition

log = logging.getLogger(__name__)

# EX_TEMPFAIL: the supervisor may start it again at once.
EXIT_STARVED = 75
CHECK_SECONDS = 5

_last_fed = {"at": time.monotonic()}


@task_received.connect
def fed(**kwargs) -> None:
    """A message came from the broker. Sent in the process that consumes, whatever the
    pool: with prefork, tasks run in child processes this one never hears from."""
    _last_fed["at"] = time.monotonic()


def busy() -> bool:
    """Running or holding a task: the consumer's own count, for every pool."""
    return bool(worker_state.active_requests or worker_state.reserved_requests)


def starved_after(sweep_interval: float) -> timedelta:
    """How long a recognition may wait, with this worker idle, before the worker counts as
    starved: past the stale time, and three sweeps that sent it again."""
    return timedelta(seconds=settings.RECOGNITION_STALE_SECONDS + 3 * sweep_interval)


def check(sweep_interval: float) -> None:
    limit = starved_after(sweep_interval)
    if busy():
        fed()  # a long task is no starvation: the idle time counts from its end
        return
    if not idle_for(limit):
        return
    waiting = Recognition.objects.filter(status=Recognition.Status.QUEUED, created_at__lte=timezone.now() - limit)
    if not waiting.exists() or not broker_answers():
        return  # nothing waits for it, or the broker is down: nothing a restart would mend
    if busy() or not idle_for(limit):
        return  # fed while the database or the broker was being asked
    log.error("the broker has handed this worker nothing for %d s while recognitions waited longer; it stops "
              "(exit %d) for its supervisor to start it again", limit.total_seconds(), EXIT_STARVED)
    for handler in logging.getLogger().handlers:
        handler.flush()
    # From the timer's thread, around a consumer that may be stuck: no orderly shutdown
    # is sure to come back, and there is nothing running to finish.
    os._exit(EXIT_STARVED)


def idle_for(limit: timedelta) -> bool:
    return time.monotonic() - _last_fed["at"] >= limit.total_seconds()


def broker_answers() -> bool:
    from pyvision.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
    except Exception:  # any transport's error means the same here
        return False
    return True
