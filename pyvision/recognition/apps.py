from django.apps import AppConfig


class RecognitionConfig(AppConfig):
    name = "pyvision.recognition"

    def ready(self):
        from django.conf import settings

        from pyvision.engine.memory import decoding, give_back_freed_pixels

        from . import files, startup  # noqa: F401  (connect delete_stored_files, prepare_worker)

        # The worker and the classify endpoint decode in this process: one budget for both.
        decoding.limit = settings.DECODE_MEMORY_BYTES
        give_back_freed_pixels()
