"""The Celery application shared by the web (which enqueues) and the workers."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pyvision.settings")

app = Celery("pyvision")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
