from django.db import models


class WorkerHeartbeat(models.Model):
    """A recognition worker that is alive says so every few seconds; the metrics count them."""

    name = models.CharField(max_length=200, unique=True)
    last_seen = models.DateTimeField(db_index=True)
    # What the worker's self-check found at start: {model: {"agrees": bool, "mean_distance": float}}.
    model_check = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.name


class MetricsCheckpoint(models.Model):
    """The totals of the recognitions finished up to ``counted_until`` (see metrics.py).

    One row, made by the migration that added it: counting starts at that upgrade.
    """

    counted_until = models.DateTimeField()
    totals = models.JSONField(default=dict)

    @classmethod
    def current(cls) -> "MetricsCheckpoint":
        return cls.objects.get(pk=1)
