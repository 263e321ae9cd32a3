"""Every log line names the recognition it is about (``recognition=-`` when none)."""

import contextlib
import contextvars
import logging

current_recognition: contextvars.ContextVar[str] = contextvars.ContextVar("current_recognition", default="-")


@contextlib.contextmanager
def about_recognition(recognition_id):
    token = current_recognition.set(str(recognition_id))
    try:
        yield
    finally:
        current_recognition.reset(token)


class RecognitionFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.recognition_id = current_recognition.get()
        return True
