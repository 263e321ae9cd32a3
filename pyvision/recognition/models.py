import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from pyvision.custom_models.models import Label
from pyvision.synsets.models import Synset


# What a file that declares no size (no image at all) counts for in the queue, in pixels.
UNKNOWN_PIXELS = 1_000_000


def stored_name(instance, filename: str) -> str:
    # The user's filename is never used on disk or in storage: it could hold path
    # separators, be 10,000 characters long, or reveal something.
    return f"images/{instance.created_at:%Y/%m}/{uuid.uuid4().hex}"


def thumbnail_name(instance, filename: str) -> str:
    return f"thumbnails/{instance.created_at:%Y/%m}/{uuid.uuid4().hex}.jpg"


class Image(models.Model):
    """An uploaded photo. Private to its owner (a user, or an anonymous session)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="images")
    session_key = models.CharField(max_length=40, blank=True, db_index=True)
    file = models.FileField(upload_to=stored_name, max_length=200)
    original_name = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField()
    # As its header declares, read at upload: what recognising it costs, before it is decoded.
    pixels = models.PositiveBigIntegerField(null=True, blank=True)
    note = models.TextField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # A small JPEG without EXIF, made once on first request and kept in storage.
    thumbnail = models.FileField(upload_to=thumbnail_name, max_length=200, blank=True)
    # Demo images are shown to everyone on the home page, by an admin's choice.
    is_demo = models.BooleanField(default=False, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name or str(self.id)


class StorageUse(models.Model):
    """The bytes one owner's stored originals take: a user's, or an anonymous owner's by
    its key. Changed in the transaction that stores or removes an original (storage_use.py),
    so the quota check of every upload reads one row instead of adding up the sizes of
    all the owner's images (8 ms for 50,000 on SQLite, and growing with them)."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="storage_use")
    # NULL for a user's row, so that a plain unique index keeps one row per anonymous
    # owner on every database (MariaDB has no partial indexes): a browser's first photos
    # arrive all at once.
    session_key = models.CharField(max_length=40, null=True, blank=True, unique=True)
    bytes = models.BigIntegerField(default=0)


class RecognitionQuerySet(models.QuerySet):
    def with_predictions(self):
        """With each one's predictions and their synsets, in two more queries whatever the count."""
        return self.prefetch_related(models.Prefetch("predictions", queryset=Prediction.objects.select_related("synset", "label")))


class Recognition(models.Model):
    """One run of one model over one image, from queued to done or failed."""

    objects = RecognitionQuerySet.as_manager()

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="recognitions")
    model = models.CharField(max_length=32)
    top_k = models.PositiveSmallIntegerField(default=5)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The worker process ("host:pid") running the current attempt, or the web process
    # recognising it itself (inline.py): if it stops beating, the recognition is given
    # to another (recovery.py).
    worker = models.CharField(max_length=200, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    # Set by the caller where it starts at once (inline.py), with the same instant.
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    queue_ms = models.FloatField(null=True, blank=True)
    decode_ms = models.FloatField(null=True, blank=True)
    inference_ms = models.FloatField(null=True, blank=True)
    total_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"]), models.Index(fields=["finished_at"])]

    def __str__(self) -> str:
        return f"{self.model} on {self.image_id}: {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class Prediction(models.Model):
    """One of a recognition's top-k classes: an ImageNet synset, or a custom model's label."""

    recognition = models.ForeignKey(Recognition, on_delete=models.CASCADE, related_name="predictions")
    rank = models.PositiveSmallIntegerField()
    synset = models.ForeignKey(Synset, null=True, blank=True, on_delete=models.PROTECT, related_name="predictions")
    label = models.ForeignKey(Label, null=True, blank=True, on_delete=models.PROTECT, related_name="predictions")
    score = models.FloatField()

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["recognition", "rank"], name="one_prediction_per_rank"),
            models.CheckConstraint(condition=models.Q(synset__isnull=True) ^ models.Q(label__isnull=True),
                                   name="prediction_names_one_class"),
        ]

    def __str__(self) -> str:
        return f"{self.rank}. {self.predicted.wnid or self.predicted.label_id} {self.score:.3f}"

    @property
    def predicted(self):
        """The class it names: a Synset or a Label (both have label(), names, hierarchy)."""
        return self.synset or self.label


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key for one upload request, and the recognitions it made:
    the same key sent again by the same owner gets those back instead of new ones."""

    # "user:<id>" or "session:<key>": one unique constraint for both kinds of owner,
    # which a nullable owner column would not give on every database.
    scope = models.CharField(max_length=60)
    key = models.CharField(max_length=255)
    # Which image of the request (the site's form may send several).
    position = models.PositiveSmallIntegerField(default=0)
    # A digest of what the request asked for: the same key with another body is refused.
    fingerprint = models.CharField(max_length=64)
    recognition = models.ForeignKey(Recognition, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key", "position"], name="one_use_per_idempotency_key")]
