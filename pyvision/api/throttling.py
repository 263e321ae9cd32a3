"""How many recognitions a client may create: per user, and per IP without one.

The API applies these as DRF throttles; the site's upload form counts each file
against the same limits with ``wait_seconds``.
"""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class AnonymousRate(AnonRateThrottle):
    """Per client IP, for requests without a user. The rate is read at each request so
    a changed setting applies at once."""

    def get_rate(self):
        return settings.RATE_ANON


class UserRate(UserRateThrottle):
    """Per user, for requests with one (an anonymous request counts under AnonymousRate only)."""

    def get_rate(self):
        return settings.RATE_USER

    def get_cache_key(self, request, view):
        return super().get_cache_key(request, view) if request.user.is_authenticated else None


def wait_seconds(request) -> int | None:
    """Count one recognition for whoever sent ``request``: None if it is allowed, else
    how many seconds to wait."""
    for throttle in (AnonymousRate(), UserRate()):
        if not throttle.allow_request(request, None):
            return max(1, round(throttle.wait() or 1))
    return None
