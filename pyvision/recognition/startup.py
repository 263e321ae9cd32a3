"""What a worker process does when it starts, and every little while after: load the
default model, send again what was left unfinished, purge old anonymous uploads, and
check that the broker still feeds it (watchdog.py).

Connected to Celery's worker_ready signal when the app loads (apps.py); the web
processes load it too, where the signal never comes.
"""

import logging
from datetime import timedelta

from celery.signals import worker_ready
from django.conf import settings
from django.db import close_old_connections

from . import files, idempotency, pipeline, watchdog

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 30
PURGE_INTERVAL_SECONDS = 600


@worker_ready.connect
def prepare_worker(sender, **kwargs):
    """Load the default model (and check its answers on this CPU), then pick up what was
    left unfinished, now and every little while.

    In embedded mode this worker is the only one, so whatever is running now was
    interrupted by a crash: it is taken again at once. With several workers, what a
    worker was running comes back when its heartbeat stops (recovery.py); this sweep
    sends again what was queued longer than PYVISION_STALE_SECONDS (a message lost on
    the way to the broker).
    """
    # Imported here: web processes load this module, and do without onnxruntime.
    from . import worker

    worker.model(settings.DEFAULT_MODEL)
    stale = timedelta(seconds=settings.RECOGNITION_STALE_SECONDS)
    sweep = "the sweep for unfinished recognitions", pipeline.requeue_unfinished
    sweep_interval = min(SWEEP_INTERVAL_SECONDS, stale.total_seconds() / 2)
    try_later(*sweep, timedelta(0) if settings.EMBEDDED_BROKER else stale, all_running=settings.EMBEDDED_BROKER)
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
