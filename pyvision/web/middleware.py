import zoneinfo

from django.utils import timezone

TIME_ZONE_COOKIE = "tz"


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
