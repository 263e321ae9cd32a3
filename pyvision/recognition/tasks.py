import logging
from datetime import timedelta

from celery.signals import worker_ready
from django.conf import settings

from pyvision.celery import app

from . import files, pipeline

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 30
PURGE_INTERVAL_SECONDS = 600


@app.task(ignore_result=True)
def recognize(recognition_id: str) -> None:
    # Imported here: the web process imports this module to send the task, and must
    # not load onnxruntime and the models to do so.
    from . import worker

    worker.run(recognition_id)


@worker_ready.connect
def prepare_worker(sender, **kwargs):
    """Load the default model, then pick up what was left unfinished, now and every little while.

    In embedded mode this worker is the only one, so whatever is running now was
    interrupted by a crash: it is taken again at once. With several workers, only what
    has been running longer than PYVISION_STALE_SECONDS is presumed lost.
    """
    from . import worker

    worker.classifier(settings.DEFAULT_MODEL)
    stale = timedelta(seconds=settings.RECOGNITION_STALE_SECONDS)
    pipeline.requeue_unfinished(timedelta(0) if settings.EMBEDDED_BROKER else stale)
    sender.timer.call_repeatedly(SWEEP_INTERVAL_SECONDS, pipeline.requeue_unfinished, (stale,))
    # Anonymous uploads are deleted after their retention time, with no beat process.
    files.purge_anonymous()
    sender.timer.call_repeatedly(PURGE_INTERVAL_SECONDS, files.purge_anonymous)
