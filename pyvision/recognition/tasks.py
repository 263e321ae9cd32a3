"""The Celery task: sent by the web side (pipeline.py), run by a worker (worker.py)."""

from pyvision.celery import app

from .logs import about_recognition
from .transient import TRANSIENT_ERRORS

RETRY_MAX_SECONDS = 5


# A database or a storage that is down for a while does not lose the task: the worker
# gives the recognition back and the task is tried again, every 5 s at most, for as long
# as it takes (it can only be retried while the recognition cannot even be claimed), so
# it runs within seconds of the database's return. What an attempt could not give back
# is released by its worker's next heartbeat (recovery.py).
@app.task(ignore_result=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, retry_backoff_max=RETRY_MAX_SECONDS,
          retry_jitter=False, max_retries=None)
def recognize(recognition_id: str) -> None:
    # Imported here: the web process imports this module to send the task, and must
    # not load onnxruntime and the models to do so.
    from . import worker

    with about_recognition(recognition_id):
        worker.run(recognition_id)
