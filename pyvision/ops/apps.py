from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "pyvision.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self):
        from . import heartbeat  # noqa: F401  (connects the worker's heartbeat to Celery's signals)
