from django.apps import AppConfig


class RecognitionConfig(AppConfig):
    name = "pyvision.recognition"

    def ready(self):
        from . import files  # noqa: F401  (connects delete_stored_files)
