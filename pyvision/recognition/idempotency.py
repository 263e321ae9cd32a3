"""Uploads that a retry cannot duplicate, and 503s that do not lie about what was saved.

A client that sends an ``Idempotency-Key`` header (the IETF draft "The Idempotency-Key
HTTP Header Field") and sends the same request again with it, after a timeout, a 503 or
a dropped connection, gets the recognitions of the first instead of new ones, for
KEPT_FOR. Keys are per owner: another user's identical key is another operation. The
same key with another body cannot be a retry: it is refused (422, as the draft says),
never answered with the first request's result.
"""

import hashlib
import json
from datetime import timedelta

from django.core.files.base import File
from django.db import DatabaseError, IntegrityError, InterfaceError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import access, files
from .models import IdempotencyKey, Recognition

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = IdempotencyKey._meta.get_field("key").max_length


class InvalidKey(ValueError):
    """An empty key, or one longer than MAX_KEY_LENGTH."""


class KeyReused(ValueError):
    """The key was sent before with another request body."""


class OutcomeUnknown(Exception):
    """The database stopped answering while the upload's transaction committed: it may
    have been saved or not. Only a retry with the same key can tell without a duplicate."""


def key_of(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(_("The Idempotency-Key header must hold 1 to %(limit)d characters.") % {"limit": MAX_KEY_LENGTH})
    return key


def scope(request) -> str:
    """Whose keys a request's key is among. Clients behind one address share one scope
    when they send no cookie: a key they both use gives one the other's recognition only
    for the very same request body (the fingerprint), the same photo."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    if request.session.session_key:
        return f"session:{request.session.session_key}"
    return access.address_key(request)


def fingerprint(fields: dict) -> str:
    """A digest of what a request asks for: its fields, files by their content (a
    multipart body changes its boundary at every sending)."""
    digest = hashlib.sha256()
    for name in sorted(fields):
        values = fields[name] if isinstance(fields[name], list) else [fields[name]]
        digest.update(json.dumps(name).encode())
        for value in values:
            if isinstance(value, File):
                for chunk in value.chunks():
                    digest.update(chunk)
                value.seek(0)
            else:
                digest.update(json.dumps(value, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def earlier(request, key: str, print_: str) -> list[Recognition] | None:
    """The recognitions made by the first request with this key, or None if it is new."""
    owner = scope(request)
    uses = list(IdempotencyKey.objects.filter(scope=owner, key=key, created_at__gte=timezone.now() - KEPT_FOR)
                .order_by("position").select_related("recognition"))
    if not uses:
        return None
    if uses[0].fingerprint != print_:
        raise KeyReused(_("This Idempotency-Key was used for another request; send a new key for a new upload."))
    return [use.recognition for use in uses]


def remember(request, key: str, print_: str, recognitions: list[Recognition]) -> None:
    """Within the upload's transaction, so that the key and its recognitions are saved together."""
    owner = scope(request)
    IdempotencyKey.objects.filter(scope=owner, key=key, created_at__lt=timezone.now() - KEPT_FOR).delete()
    IdempotencyKey.objects.bulk_create(
        IdempotencyKey(scope=owner, key=key, position=position, fingerprint=print_, recognition=recognition)
        for position, recognition in enumerate(recognitions))


def save_once(request, key: str | None, print_: str, submit) -> list[Recognition]:
    """Run ``submit`` (which returns the new recognitions) in one transaction, with the key.

    Two requests with the same key at once: the second waits on the key's unique index,
    then gets what the first saved (or KeyReused, for another body). A database that
    fails while committing raises OutcomeUnknown; any failure before leaves nothing
    saved, the uploads' files included.
    """
    committing = False
    with files.uploads_stored() as stored:
        try:
            with transaction.atomic():
                recognitions = submit()
                if key:
                    remember(request, key, print_, recognitions)
                committing = True
        except IntegrityError:  # rolled back, whenever it was raised
            files.delete_files(stored)
            if not key or (first := earlier(request, key, print_)) is None:
                raise
            return first
        except (DatabaseError, InterfaceError) as exc:
            if committing:  # saved, perhaps: its files stay
                raise OutcomeUnknown() from exc
            files.delete_files(stored)
            raise
        except BaseException:
            files.delete_files(stored)
            raise
    return recognitions


def purge() -> int:
    """Forget keys older than KEPT_FOR (their recognitions stay)."""
    return IdempotencyKey.objects.filter(created_at__lt=timezone.now() - KEPT_FOR).delete()[0]
