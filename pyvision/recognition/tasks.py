import logging
import threading
from datetime import timedelta

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from pyvision.celery import app
from pyvision.ops import heartbeat
from pyvision.ops.logs import about_recognition

from . import files, pipeline

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 30
PURGE_INTERVAL_SECONDS = 600


# A database or a storage that is down for a while does not lose the task: the worker
# gives the recognition back and the task is tried again, ever more slowly; if it is
# still down after that, the sweep sends it again later.
@app.task(ignore_result=True, autoretry_for=pipeline.TRANSIENT_ERRORS,
          retry_backoff=True, retry_backoff_max=30, max_retries=10)
def recognize(recognition_id: str) -> None:
    # Imported here: the web process imports this module to send the task, and must
    # not load onnxruntime and the models to do so.
    from . import worker

    with about_recognition(recognition_id):
        worker.run(recognition_id)


@worker_ready.connect
def prepare_worker(sender, **kwargs):
    """Load the default model and start checking every model's answers on this CPU, then
    pick up what was left unfinished, now and every little while.

    In embedded mode this worker is the only one, so whatever is running now was
    interrupted by a crash: it is taken again at once. With several workers, only what
    has been running longer than PYVISION_STALE_SECONDS is presumed lost: the others
    may be running on a live worker.
    """
    from . import worker

    worker.classifier(settings.DEFAULT_MODEL)
    in_background("the self-check", report_self_check)
    stale = timedelta(seconds=settings.RECOGNITION_STALE_SECONDS)
    sweep = "the sweep for unfinished recognitions", pipeline.requeue_unfinished
    try_later(*sweep, timedelta(0) if settings.EMBEDDED_BROKER else stale)
    sender.timer.call_repeatedly(min(SWEEP_INTERVAL_SECONDS, stale.total_seconds() / 2), try_later, (*sweep, stale))
    sender.timer.call_repeatedly(heartbeat.HEARTBEAT_SECONDS, beat)
    beat()
    # Anonymous uploads are deleted after their retention time, with no beat process.
    purge = "the purge of anonymous uploads", files.purge_anonymous
    try_later(*purge)
    sender.timer.call_repeatedly(PURGE_INTERVAL_SECONDS, try_later, purge)


@worker_shutdown.connect
def leave(sender, **kwargs):
    try:
        heartbeat.forget()
    except (OperationalError, InterfaceError):
        pass  # the heartbeat ages out on its own


def try_later(what: str, job, *args) -> None:
    """Run a periodic job. The database or the broker may be down for a while: the
    job's next run tries again."""
    try:
        job(*args)
    except Exception:
        log.warning("%s failed; trying again later", what, exc_info=True)


def report_self_check() -> None:
    """Check the models' answers on this CPU, for the log and for /readyz (a second or two:
    the worker takes recognitions meanwhile)."""
    from . import worker

    heartbeat.report_model_check(worker.check_models())


def in_background(what: str, job) -> None:
    def run():
        try:
            try_later(what, job)
        finally:
            connection.close()  # the thread's own database connection

    threading.Thread(target=run, name=what, daemon=True).start()


def beat() -> None:
    try:
        heartbeat.beat()
    except (OperationalError, InterfaceError) as exc:
        log.warning("heartbeat not written: %s", exc)
