"""Stored files of images: thumbnails, and removal of images with their files."""

import io
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from PIL import Image as Picture

from . import storage_use
from .models import Image

log = logging.getLogger(__name__)

THUMBNAIL_SIDE = 480

# The uploads stored in this thread by a transaction under way (idempotency.save_once).
_stored_uploads = threading.local()


@contextmanager
def uploads_stored() -> Iterator[list[str]]:
    """The names of the uploads that ``upload_stored`` reports within the block: files
    written inside a transaction, which must be deleted again if it does not commit."""
    _stored_uploads.names = names = []
    try:
        yield names
    finally:
        _stored_uploads.names = None


def upload_stored(name: str) -> None:
    names = getattr(_stored_uploads, "names", None)
    if names is not None:
        names.append(name)


def save_thumbnail(image: Image, picture: Picture.Image) -> str:
    """Store a thumbnail for the image, made by the worker from the pixels it decoded to
    recognise it (the web never decodes an upload); returns its stored name, or "" if
    the image has one already. ``attach_thumbnail`` then records it.

    Re-encoded from the decoded pixels, so it carries no EXIF (no GPS, no camera
    serial) whatever the original held.
    """
    if image.thumbnail:
        return ""
    small = picture
    # The worker decodes at about the thumbnail's size already: a photo's picture is used as
    # it is, and resizing 500 pixels to 480 would cost more than decoding it did.
    if max(picture.size) > THUMBNAIL_SIDE * 5 // 4:
        small = picture.copy()
        small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Picture.Resampling.BILINEAR)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=82)
    field = Image._meta.get_field("thumbnail")
    return field.storage.save(field.generate_filename(image, "thumbnail.jpg"), ContentFile(buffer.getvalue()))


def attach_thumbnail(image: Image, name: str) -> bool:
    """Record a saved thumbnail, in the caller's transaction; False if the image got one
    meanwhile (two recognitions of one image raced): then the caller removes this file."""
    return bool(Image.objects.filter(pk=image.pk, thumbnail="").update(thumbnail=name))


def forget_file(image: Image) -> None:
    """Delete an image's original from storage, keeping its row (and its recognitions)."""
    name = image.file.name
    with transaction.atomic():
        forgotten = name and Image.objects.filter(pk=image.pk, file=name).update(file="")
        if forgotten:
            storage_use.remove(storage_use.of_image(image), image.size)
    if forgotten:
        delete_files([name])


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
    if instance.file:
        storage_use.remove(storage_use.of_image(instance), instance.size)
    transaction.on_commit(lambda: delete_files(names))


def delete_files(names: list[str]) -> None:
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
    storage_use.forget_anonymous_owners_without_files()
    # The sessions that held them too, and those of clients that never came back.
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    if deleted:
        log.info("purged %d anonymous images older than %s", deleted, older_than)
    return deleted
