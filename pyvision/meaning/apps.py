from django.apps import AppConfig


class MeaningConfig(AppConfig):
    """Answers by meaning, through the WordNet hierarchy: hedged answers."""

    name = "pyvision.meaning"

    def ready(self):
        from . import answers  # noqa: F401  (connect store_hedged)
