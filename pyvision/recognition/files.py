"""Stored files of images: thumbnails, and removal of images with their files."""

import io
import logging
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from pyvision.engine.decode import decode
from pyvision.engine.errors import ImageError

from .models import Image

log = logging.getLogger(__name__)

THUMBNAIL_SIDE = 480


def thumbnail(image: Image):
    """The image's thumbnail file, made and stored on first use; None if it cannot be made.

    The thumbnail is re-encoded from the decoded pixels, so it carries no EXIF (no GPS,
    no camera serial) whatever the original held.
    """
    if image.thumbnail:
        return image.thumbnail
    try:
        with image.file.open("rb") as f:
            pixels = decode(f.read(), max_pixels=settings.MAX_IMAGE_PIXELS, draft_size=(THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    except (ImageError, FileNotFoundError):
        return None
    pixels.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buffer = io.BytesIO()
    pixels.save(buffer, "JPEG", quality=82, optimize=True)
    image.thumbnail.save("thumbnail.jpg", ContentFile(buffer.getvalue()), save=False)
    # Two requests may race to make it: the file of the one that loses is removed.
    if not Image.objects.filter(pk=image.pk, thumbnail="").update(thumbnail=image.thumbnail.name):
        image.thumbnail.storage.delete(image.thumbnail.name)
        image.refresh_from_db(fields=["thumbnail"])
    return image.thumbnail


def delete_images(images) -> int:
    """Delete images and their recognitions; returns how many.

    Their files follow once the deletion commits (``delete_stored_files``).
    """
    with transaction.atomic():
        _total, per_model = Image.objects.filter(pk__in=[image.pk for image in images]).delete()
    return per_model.get(Image._meta.label, 0)


@receiver(post_delete, sender=Image)
def delete_stored_files(sender, instance: Image, **kwargs) -> None:
    """However an image row goes (a delete here, its owner removed in the admin, a
    cascade), its original and thumbnail leave storage too, once that commits: a
    failed delete never leaves a row pointing at a missing file."""
    names = [f.name for f in (instance.file, instance.thumbnail) if f]
    transaction.on_commit(lambda: _delete_files(names))


def _delete_files(names: list[str]) -> None:
    storage = Image._meta.get_field("file").storage
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            log.exception("could not delete %s from storage", name)


def purge_anonymous(older_than: timedelta | None = None) -> int:
    """Delete what anonymous sessions uploaded longer ago than the retention time, and
    the expired sessions."""
    if older_than is None:
        older_than = timedelta(hours=settings.ANONYMOUS_RETENTION_HOURS)
    expired = Image.objects.filter(owner=None, created_at__lt=timezone.now() - older_than)
    deleted = delete_images(expired)
    # The sessions that held them too, and those of clients that never came back.
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    if deleted:
        log.info("purged %d anonymous images older than %s", deleted, older_than)
    return deleted
