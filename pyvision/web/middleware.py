import zoneinfo

from django.utils import timezone
from django.utils.cache import add_never_cache_headers

TIME_ZONE_COOKIE = "tz"

# Every script, style, image and font of the site is a file of its own (whitenoise),
# nothing inline: a script injected into a page would not run. data: for the images
# that the API docs' stylesheet holds. A view may set a stricter policy of its own.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")


def content_security_policy(get_response):
    def middleware(request):
        response = get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    return middleware


def private_pages_not_stored(get_response):
    """An answer that depended on who asks (it read the session: the user, their photos,
    a new API key) is kept by no cache, the browser's included, unless its view said
    otherwise: after logging out, Back shows nothing of it."""

    def middleware(request):
        response = get_response(request)
        if request.session.accessed and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response

    return middleware


def browser_time_zone(get_response):
    """Show dates in the browser's time zone, which site.js keeps in a cookie."""

    def middleware(request):
        name = request.COOKIES.get(TIME_ZONE_COOKIE, "")
        try:
            zone = zoneinfo.ZoneInfo(name) if name else None
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = None
        if zone:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        return get_response(request)

    return middleware
