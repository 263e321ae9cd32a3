"""The API's refusals: every error answer under /api/ is `{"error": {"code", "message"}}`,
with a code from this module (failed recognitions carry the engine's codes instead,
`pyvision.engine.errors.CODES`, and the worker's `file_missing` and `internal_error`).
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

# Request
INVALID_REQUEST = "invalid_request"
PARSE_ERROR = "parse_error"
NO_IMAGE = "no_image"
SEVERAL_IMAGES = "several_images"
INVALID_BASE64 = "invalid_base64"
FILE_TOO_LARGE = "file_too_large"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
# Who may do what
NOT_AUTHENTICATED = "not_authenticated"
AUTHENTICATION_FAILED = "authentication_failed"
PERMISSION_DENIED = "permission_denied"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
NOT_ACCEPTABLE = "not_acceptable"
RATE_LIMITED = "rate_limited"
IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
QUEUE_FULL = "queue_full"
OWNER_QUEUE_FULL = "owner_queue_full"
STORAGE_QUOTA_EXCEEDED = "storage_quota_exceeded"
# Answered around the views: by Django, or by the middleware for what Django answers in HTML
BAD_REQUEST = "bad_request"
URI_TOO_LONG = "uri_too_long"
HEADERS_TOO_LARGE = "headers_too_large"
INTERNAL_ERROR = "internal_error"
DATABASE_UNAVAILABLE = "database_unavailable"
MAYBE_SAVED = "database_unavailable_maybe_saved"
STORAGE_UNAVAILABLE = "storage_unavailable"
# Recognition from a URL
URL_INVALID = "url_invalid"
URL_SCHEME_NOT_ALLOWED = "url_scheme_not_allowed"
URL_PORT_NOT_ALLOWED = "url_port_not_allowed"
URL_HOST_NOT_FOUND = "url_host_not_found"
URL_ADDRESS_NOT_ALLOWED = "url_address_not_allowed"
URL_TOO_MANY_REDIRECTS = "url_too_many_redirects"
URL_CONNECTION_FAILED = "url_connection_failed"
URL_TIMEOUT = "url_timeout"
URL_HTTP_ERROR = "url_http_error"
URL_TOO_LARGE = "url_too_large"

CODES = {
    INVALID_REQUEST: (400, _("A parameter is missing or has a wrong value; see `fields`.")),
    PARSE_ERROR: (400, _("The request body could not be parsed.")),
    NO_IMAGE: (400, _("Send an image: a multipart field `image`, or JSON `url` or `image_base64`.")),
    SEVERAL_IMAGES: (400, _("Send one image per request: `image`, `url` or `image_base64`, not several.")),
    INVALID_BASE64: (400, _("`image_base64` is not valid base64.")),
    FILE_TOO_LARGE: (413, _("The image is larger than the upload limit.")),
    UNSUPPORTED_MEDIA_TYPE: (415, _("The request body must be multipart/form-data or JSON.")),
    NOT_AUTHENTICATED: (401, _("Sign in, or send `Authorization: Token <key>`.")),
    AUTHENTICATION_FAILED: (401, _("The API token is invalid or revoked.")),
    PERMISSION_DENIED: (403, _("You may not do this.")),
    NOT_FOUND: (404, _("No such object, or it is not yours.")),
    METHOD_NOT_ALLOWED: (405, _("This method is not allowed here.")),
    NOT_ACCEPTABLE: (406, _("The API answers in JSON only.")),
    RATE_LIMITED: (429, _("Too many requests; wait for the number of seconds in Retry-After.")),
    # 422, as the IETF draft on Idempotency-Key says: the request is well formed, but
    # cannot be the retry its key says it is. (409 is for the first still in progress,
    # which here a retry waits for.)
    IDEMPOTENCY_KEY_REUSED: (422, _("This Idempotency-Key was used for another request; send a new key for a new upload.")),
    QUEUE_FULL: (503, _("The service is busy: too many images are waiting to be recognised; "
                        "try again after the number of seconds in Retry-After.")),
    OWNER_QUEUE_FULL: (429, _("Too many of your images are waiting to be recognised; "
                              "try again after the number of seconds in Retry-After.")),
    STORAGE_QUOTA_EXCEEDED: (413, _("Your stored images take all of your storage quota; delete some first.")),
    BAD_REQUEST: (400, _("The request is malformed, or names a host this server does not answer to.")),
    URI_TOO_LONG: (414, _("The URL is too long.")),
    HEADERS_TOO_LARGE: (431, _("The request's headers are too large.")),
    INTERNAL_ERROR: (500, _("Something went wrong on the server; it has been logged.")),
    DATABASE_UNAVAILABLE: (503, _("The database is unreachable right now; nothing was saved. Try again in a few seconds.")),
    MAYBE_SAVED: (503, _("The database stopped answering while your upload was being saved: it may have been saved. "
                         "Send it again with the same Idempotency-Key to get it without a duplicate.")),
    STORAGE_UNAVAILABLE: (503, _("The image store is unreachable right now; nothing was saved. Try again in a few seconds.")),
    URL_INVALID: (400, _("The URL is not a valid absolute URL.")),
    URL_SCHEME_NOT_ALLOWED: (400, _("Only http and https URLs are fetched.")),
    URL_PORT_NOT_ALLOWED: (400, _("The URL's port is not one the server fetches from.")),
    URL_HOST_NOT_FOUND: (400, _("The URL's host name does not resolve.")),
    URL_ADDRESS_NOT_ALLOWED: (400, _("The URL's host is a private, loopback or otherwise internal address.")),
    URL_TOO_MANY_REDIRECTS: (400, _("The URL redirects too many times.")),
    URL_CONNECTION_FAILED: (400, _("The server at the URL could not be reached.")),
    URL_TIMEOUT: (400, _("The server at the URL did not answer in time.")),
    URL_HTTP_ERROR: (400, _("The server at the URL answered with an error status.")),
    URL_TOO_LARGE: (413, _("The file at the URL is larger than the upload limit.")),
}


# The code of an answer that carries none of its own (Django's 404 page, a crash...), by status.
STATUS_CODES = {
    400: BAD_REQUEST,
    401: NOT_AUTHENTICATED,
    403: PERMISSION_DENIED,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    406: NOT_ACCEPTABLE,
    413: FILE_TOO_LARGE,
    414: URI_TOO_LONG,
    431: HEADERS_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
    429: RATE_LIMITED,
    500: INTERNAL_ERROR,
}


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def error_body(code: str) -> dict:
    """The error shape of every refusal under /api/."""
    return {"error": {"code": code, "message": str(CODES[code][1])}}


def error_response(code: str, status: int | None = None) -> JsonResponse:
    return JsonResponse(error_body(code), status=status or CODES[code][0])


class ApiError(exceptions.APIException):
    """A refusal with one of the codes above and a message for people."""

    def __init__(self, code: str, message: str | None = None, *, retry_after: int | None = None):
        status_code, default_message = CODES[code]
        self.status_code = status_code
        super().__init__(message or default_message, code)
        self.error_code = code
        # DRF's handler answers `wait` with a Retry-After header.
        self.wait = retry_after


# DRF's own exceptions, mapped to the codes above.
_DRF_CODES = [
    (exceptions.ValidationError, INVALID_REQUEST),
    (exceptions.ParseError, PARSE_ERROR),
    (exceptions.NotAuthenticated, NOT_AUTHENTICATED),
    (exceptions.AuthenticationFailed, AUTHENTICATION_FAILED),
    (exceptions.PermissionDenied, PERMISSION_DENIED),
    (exceptions.NotFound, NOT_FOUND),
    (exceptions.MethodNotAllowed, METHOD_NOT_ALLOWED),
    (exceptions.NotAcceptable, NOT_ACCEPTABLE),
    (exceptions.UnsupportedMediaType, UNSUPPORTED_MEDIA_TYPE),
    (exceptions.Throttled, RATE_LIMITED),
]


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(CODES[NOT_FOUND][1])
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(CODES[PERMISSION_DENIED][1])
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        code = exc.error_code
    else:
        # Every exception DRF raises is in the list; anything else is a bad request.
        code = next((c for kind, c in _DRF_CODES if isinstance(exc, kind)), INVALID_REQUEST)
    # DRF's message when it says more than ours (the seconds to wait, the model name
    # that is unknown...), ours when its detail is a structure.
    message = str(exc.detail) if isinstance(exc.detail, str) else str(CODES[code][1])
    error = {"code": code, "message": message}
    if isinstance(exc, exceptions.ValidationError):
        error["fields"] = shortened(exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail})
    response.data = {"error": error}
    return response


# DRF's messages quote the value they refuse ('"xx" is not a valid choice.'): a megabyte
# sent is not a megabyte echoed.
LONGEST_MESSAGE = 300


def shortened(detail):
    """A validation error's messages, each cut to LONGEST_MESSAGE characters."""
    if isinstance(detail, dict):
        return {field: shortened(value) for field, value in detail.items()}
    if isinstance(detail, list):
        return [shortened(value) for value in detail]
    return detail if len(detail) <= LONGEST_MESSAGE else detail[:LONGEST_MESSAGE - 1] + "…"
