"""Every answer under /api/ is JSON, whichever layer gives it.

DRF's exception handler covers the API's own views, but Django answers some requests
before a view runs or around it, in HTML: an unknown path or an id that is not a UUID
(404), a Host not in ALLOWED_HOSTS (400), a crash (500), a plain Django view's 405 or
CSRF refusal. This middleware, first in the list, turns those into the error shape, so
an endpoint added later gets them without doing anything.
"""

from . import errors

# The web server refuses request headers over 64 kB itself, in plain text
# (pyvision.webserver); below that, the API refuses long URLs in its own shape, at a
# length proxies pass too (nginx's default buffer for a request line is 8 kB).
MAX_URL_BYTES = 4096

JSON = "application/json"


def json_errors(get_response):
    def middleware(request):
        if not errors.is_api(request):
            return get_response(request)
        if len(request.get_full_path()) > MAX_URL_BYTES:
            return errors.error_response(errors.URI_TOO_LONG)
        response = get_response(request)
        if response.status_code < 400 or response.get("Content-Type", "").split(";")[0] == JSON:
            return response
        return as_json(response)

    return middleware


def as_json(response):
    """The error shape for an HTML (or empty) error answer, keeping its headers (Allow,
    Retry-After, WWW-Authenticate...) and cookies."""
    status = response.status_code
    fallback = errors.BAD_REQUEST if status < 500 else errors.INTERNAL_ERROR
    converted = errors.error_response(errors.STATUS_CODES.get(status, fallback), status)
    for name, value in response.items():
        if name.lower() not in ("content-type", "content-length"):
            converted[name] = value
    converted.cookies = response.cookies
    return converted
