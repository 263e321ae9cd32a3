from django.apps import AppConfig


class RecognitionConfig(AppConfig):
    name = "pyvision.recognition"

    def ready(self):
        from . import files, startup  # noqa: F401  (connect delete_stored_files, prepare_worker)
