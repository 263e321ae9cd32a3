"""Stored files of images: thumbnails, and removal of images with their files."""

import io
import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
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
    """Delete images, their recognitions, and their files in storage; returns how many.

    Rows go first, in a transaction; files are removed once it commits, so a failed
    delete never leaves a row pointing at a missing file.
    """
    images = list(images)
    names = [f.name for image in images for f in (image.file, image.thumbnail) if f]
    with transaction.atomic():
        Image.objects.filter(pk__in=[image.pk for image in images]).delete()
        transaction.on_commit(lambda: _delete_files(names))
    return len(images)


def _delete_files(names: list[str]) -> None:
    storage = Image._meta.get_field("file").storage
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            log.exception("could not delete %s from storage", name)


def purge_anonymous(older_than: timedelta | None = None) -> int:
    """Delete what anonymous sessions uploaded longer ago than the retention time."""
    if older_than is None:
        older_than = timedelta(hours=settings.ANONYMOUS_RETENTION_HOURS)
    expired = Image.objects.filter(owner=None, created_at__lt=timezone.now() - older_than)
    deleted = delete_images(expired)
    if deleted:
        log.info("purged %d anonymous images older than %s", deleted, older_than)
    return deleted
