from django.apps import AppConfig


class SimilarConfig(AppConfig):
    """Similar photos and near-duplicates among one's own, from the models' embeddings."""

    name = "pyvision.similar"

    def ready(self):
        from . import library  # noqa: F401  (connect store_vector)
