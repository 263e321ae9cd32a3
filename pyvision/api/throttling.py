"""How many recognitions a client may create: per user, and per IP without one.

The API applies these as DRF throttles; the site's upload form and the classify endpoint
count each file against the same limits with ``wait_seconds``. The counts are
django-ratelimit's fixed windows in the shared cache: one atomic increment per request,
where DRF's own throttles read, extend and write back a list of every request's time.
"""

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.throttling import BaseThrottle


class _Rate(BaseThrottle):
    group = ""

    def rate(self) -> str:
        raise NotImplementedError

    def counted_as(self, request) -> str | None:
        """The key this request counts under; None if this limit does not apply to it."""
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        self._wait = None
        key = self.counted_as(request)
        if key is None:
            return True
        # The rate is read at each request so a changed setting applies at once.
        usage = get_usage(request, group=self.group, key=lambda _group, _request: key, rate=self.rate(), increment=True)
        if usage["count"] <= usage["limit"]:
            return True
        self._wait = max(1, usage["time_left"])
        return False

    def wait(self) -> int | None:
        return self._wait


class AnonymousRate(_Rate):
    """Per client IP, for requests without a user."""

    group = "api-anonymous"

    def rate(self) -> str:
        return settings.RATE_ANON

    def counted_as(self, request) -> str | None:
        return None if request.user.is_authenticated else self.get_ident(request)


class UserRate(_Rate):
    """Per user, for requests with one."""

    group = "api-user"

    def rate(self) -> str:
        return settings.RATE_USER

    def counted_as(self, request) -> str | None:
        return str(request.user.pk) if request.user.is_authenticated else None


def wait_seconds(request) -> int | None:
    """Count one recognition for whoever sent ``request``: None if it is allowed, else
    how many seconds to wait."""
    for throttle in (AnonymousRate(), UserRate()):
        if not throttle.allow_request(request, None):
            return throttle.wait()
    return None
