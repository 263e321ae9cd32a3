from django.conf import settings
from django.db import models

from pyvision.engine.similarity import DIMENSIONS
from pyvision.recognition.models import Image


class PhotoVector(models.Model):
    """A done image's embedding by one model, compacted (pyvision/engine/similarity.py).
    It goes with its image."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="vectors")
    model = models.CharField(max_length=32)
    # The image's owner, copied here so that one person's vectors are read through one index.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, blank=True)
    vector = models.BinaryField(max_length=DIMENSIONS)
    # With the count, tells a web process whether its copy of a library is still current:
    # any row added or stored again is newer, any row deleted lowers the count.
    stored_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "model"], name="one_vector_per_image_and_model")]
        # With stored_at, the index alone answers whether a library changed (see library.py).
        indexes = [models.Index(fields=["owner", "model", "stored_at"]),
                   models.Index(fields=["session_key", "model", "stored_at"])]

    def __str__(self) -> str:
        return f"{self.model} vector of {self.image_id}"
