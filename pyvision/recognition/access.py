"""Who may see what: every image belongs to a user or to one anonymous session."""

from django.conf import settings
from django.http import HttpRequest

from .models import Image, Recognition


def session_key(request: HttpRequest) -> str:
    """The browser session's key, creating the session if there is none yet. It lasts
    as long as the photos sent in it are kept (from now), then the purge deletes it."""
    request.session.set_expiry(settings.ANONYMOUS_RETENTION_HOURS * 3600)
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key


def owner_fields(request: HttpRequest) -> dict:
    """The fields that make a new image belong to whoever sent the request."""
    if request.user.is_authenticated:
        return {"owner": request.user}
    return {"session_key": session_key(request)}


def owned_images(owner, session_key: str):
    """The images of a user (or a user's id), or else of an anonymous session."""
    if owner is not None:
        return Image.objects.filter(owner=owner)
    return Image.objects.filter(owner=None, session_key=session_key)


def own_images(request: HttpRequest):
    if request.user.is_authenticated:
        return owned_images(request.user, "")
    if not request.session.session_key:
        return Image.objects.none()
    return owned_images(None, request.session.session_key)


def own_recognitions(request: HttpRequest):
    return Recognition.objects.filter(image__in=own_images(request))
