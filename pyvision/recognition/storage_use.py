"""What each owner keeps in storage, counted as originals are stored and removed (see
models.StorageUse). Every change of an image's owner, file or existence goes through
here, in the same transaction: pipeline.submit stores, files.forget_file and the
deletion of an image remove, adopt moves a visitor's photos to an account."""

from django.db import IntegrityError, transaction
from django.db.models import F

from .models import Image, StorageUse


def owner_key(owner, session_key: str) -> dict:
    """The StorageUse row of a user (or a user's id), or else of an anonymous owner."""
    if owner is not None:
        return {"owner_id": getattr(owner, "pk", owner)}
    return {"owner": None, "session_key": session_key}


def of_image(image: Image) -> dict:
    return owner_key(image.owner_id, image.session_key)


def stored_bytes(owner, session_key: str) -> int:
    row = StorageUse.objects.filter(**owner_key(owner, session_key)).values_list("bytes", flat=True)[:1]
    return row[0] if row else 0


def add(key: dict, size: int) -> None:
    """Count an original just stored."""
    if StorageUse.objects.filter(**key).update(bytes=F("bytes") + size):
        return
    try:
        with transaction.atomic():
            StorageUse.objects.create(**key, bytes=size)
    except IntegrityError:  # the owner's first two uploads at once: the other made the row
        StorageUse.objects.filter(**key).update(bytes=F("bytes") + size)


def remove(key: dict, size: int) -> None:
    """Count an original removed. An owner without a row (a user being deleted, whose
    row the deletion takes too) has nothing left to count."""
    StorageUse.objects.filter(**key).update(bytes=F("bytes") - size)


def adopt(session_key: str, user) -> None:
    """What a browser stored before signing in becomes the account's, and counts for it."""
    with transaction.atomic():
        if not Image.objects.filter(owner=None, session_key=session_key).update(owner=user, session_key=""):
            return
        visitor = StorageUse.objects.filter(**owner_key(None, session_key)).first()
        if visitor is not None:
            add(owner_key(user, ""), visitor.bytes)
            visitor.delete()


def forget_anonymous_owners_without_files() -> None:
    """The rows of anonymous owners whose photos were all purged or deleted."""
    StorageUse.objects.filter(owner=None, bytes__lte=0).delete()
