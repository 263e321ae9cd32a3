from django.db import models


class WorkerHeartbeat(models.Model):
    """A recognition worker that is alive says so every few seconds; the metrics count them."""

    name = models.CharField(max_length=200, unique=True)
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.name
