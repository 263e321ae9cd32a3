"""The Celery task: sent by the web side (pipeline.py), run by a worker (worker.py)."""

from pyvision.celery import app

from .logs import about_recognition
from .transient import TRANSIENT_ERRORS


# A database or a storage that is down for a while does not lose the task: the worker
# gives the recognition back and the task is tried again, ever more slowly; if it is
# still down after that, the sweep sends it again later.
@app.task(ignore_result=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, retry_backoff_max=30, max_retries=10)
def recognize(recognition_id: str) -> None:
    # Imported here: the web process imports this module to send the task, and must
    # not load onnxruntime and the models to do so.
    from . import worker

    with about_recognition(recognition_id):
        worker.run(recognition_id)
