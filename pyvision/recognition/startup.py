"""What a worker process does when it starts, and every little while after: check the
default model (and load it), send again what was left unfinished, purge old anonymous
uploads, and check that the broker still feeds it (watchdog.py).

Connected to Celery's worker_ready signal when the app loads (apps.py); the web
processes load it too, where the signal never comes.
"""

import logging
from datetime import timedelta

from celery.signals import worker_ready
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from . import files, idempotency, pipeline, watchdog

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 30
PURGE_INTERVAL_SECONDS = 600

# When this process started (its apps loaded), before the web process started with it
# could claim anything.
STARTED = timezone.now()


@worker_ready.connect
def prepare_worker(sender, **kwargs):
    """Check the default model's answers on this CPU (and load it, unless the web
    process recognises the clients that wait), then pick up what was left unfinished,
    now and every little while.

    In embedded mode this worker is the only one, so whatever was running when it
    started was interrupted by a crash: it is taken again at once (what the web process
    claimed since, to recognise it itself, is left to it). With several workers, what a
    worker was running comes back when its heartbeat stops (recovery.py); this sweep
    sends again what was queued longer than PYVISION_STALE_SECONDS (a message lost on
    the way to the broker).
    """
    # Imported here: web processes load this module, and do without onnxruntime.
    from . import worker

    try:
        worker.get_ready()
    except Exception:  # the sweeps below must run whatever happens here
        log.warning("the default model could not be checked at start; it is checked when it loads", exc_info=True)
    stale = timedelta(seconds=settings.RECOGNITION_STALE_SECONDS)
    sweep = "the sweep for unfinished recognitions", pipeline.requeue_unfinished
    sweep_interval = min(SWEEP_INTERVAL_SECONDS, stale.total_seconds() / 2)
    try_later(*sweep, timezone.now() - STARTED if settings.EMBEDDED_BROKER else stale, all_running=settings.EMBEDDED_BROKER)
    sender.timer.call_repeatedly(sweep_interval, try_later, (*sweep, stale))
    starving = "the check that the broker still feeds this worker", watchdog.check
    sender.timer.call_repeatedly(watchdog.CHECK_SECONDS, try_later, (*starving, sweep_interval))
    # Anonymous uploads are deleted after their retention time, with no beat process.
    purge = "the purge of anonymous uploads", files.purge_anonymous
    try_later(*purge)
    sender.timer.call_repeatedly(PURGE_INTERVAL_SECONDS, try_later, purge)
    forget_keys = "the purge of old idempotency keys", idempotency.purge
    sender.timer.call_repeatedly(PURGE_INTERVAL_SECONDS, try_later, forget_keys)


def try_later(what: str, job, *args, **kwargs) -> None:
    """Run a periodic job. The database or the broker may be down for a while: the
    job's next run tries again."""
    # Jobs run on the worker's timer thread, which no task or request ends: a
    # connection broken by a database outage is dropped here, or it stays broken.
    close_old_connections()
    try:
        job(*args, **kwargs)
    except Exception:
        log.warning("%s failed; trying again later", what, exc_info=True)
