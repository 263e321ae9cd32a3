"""Who may see what: every image belongs to a user, to one anonymous session, or to
the address of an API client that sends neither a token nor a cookie."""

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from rest_framework.throttling import BaseThrottle

from .models import Image, Recognition


def session_key(request: HttpRequest) -> str:
    """The browser session's key, creating the session if there is none yet. It lasts
    as long as the photos sent in it are kept (from now), then the purge deletes it."""
    request.session.set_expiry(settings.ANONYMOUS_RETENTION_HOURS * 3600)
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key


ADDRESS_KEY_PREFIX = "address-"


def address_key(request: HttpRequest) -> str:
    """The owner key of a cookie-less API client: its address (as the API's rate limits
    count it), keyed with the secret so the table holds no address. A session's key is
    32 letters and digits: this one, with its dash, is never a session's."""
    return ADDRESS_KEY_PREFIX + salted_hmac("pyvision.address-owner", BaseThrottle().get_ident(request)).hexdigest()[:32]


def is_address_key(session_key: str) -> bool:
    return session_key.startswith(ADDRESS_KEY_PREFIX)


def owner_fields(request: HttpRequest, *, cookie_less_by_address: bool = False) -> dict:
    """The fields that make a new image belong to whoever sent the request.

    A program calling the API without a token or a cookie keeps no cookie it is given:
    a session for each of its calls would be a row that only the purge removes, and
    each call a new owner, outside every per-owner limit. Its images are its address's.
    """
    if request.user.is_authenticated:
        return {"owner": request.user}
    if cookie_less_by_address and not request.session.session_key:
        return {"session_key": address_key(request)}
    return {"session_key": session_key(request)}


def owned_images(owner, session_key: str):
    """The images of a user (or a user's id), or else of an anonymous session."""
    return Image.objects.filter(**_owned_by(owner, session_key))


def owned_recognitions(owner, session_key: str):
    """Their recognitions, through a join on the image: filtered by an IN list of the
    owner's images instead, SQLite read every image the owner has on each upload."""
    return Recognition.objects.filter(**_owned_by(owner, session_key, through="image__"))


def _owned_by(owner, session_key: str, *, through: str = "") -> dict:
    if owner is not None:
        return {f"{through}owner": owner}
    return {f"{through}owner": None, f"{through}session_key": session_key}


def own_images(request: HttpRequest, *, cookie_less_by_address: bool = False):
    """With cookie_less_by_address, a cookie-less client's are its address's: only for
    one recognition asked for by its id (the URL its answer gave), never a list, which
    would show it those of everyone behind the same address."""
    owner = _requester(request, cookie_less_by_address)
    return Image.objects.none() if owner is None else owned_images(*owner)


def own_recognitions(request: HttpRequest, *, cookie_less_by_address: bool = False):
    owner = _requester(request, cookie_less_by_address)
    return Recognition.objects.none() if owner is None else owned_recognitions(*owner)


def _requester(request: HttpRequest, cookie_less_by_address: bool) -> tuple | None:
    """(owner, session key) of whoever sent the request; None for a client that owns nothing."""
    if request.user.is_authenticated:
        return request.user, ""
    if request.session.session_key:
        return None, request.session.session_key
    if cookie_less_by_address:
        return None, address_key(request)
    return None
