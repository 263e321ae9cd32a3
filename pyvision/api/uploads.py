"""The upload size limit, enforced while the body streams in, not after it is stored."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler

from . import errors

# Multipart boundaries and fields, and base64's 4/3, on top of the image itself.
BODY_OVERHEAD_BYTES = 64 * 1024


class FileTooLarge(errors.ApiError):
    def __init__(self):
        super().__init__(errors.FILE_TOO_LARGE,
                         f"The image is larger than the {settings.MAX_UPLOAD_BYTES / (1024 * 1024):g} MB upload limit.")


class BodyTooLarge(FileTooLarge):
    """Refused from the declared Content-Length, so the body is left unread."""


def check_content_length(request, images: int = 1) -> None:
    """Refuse a body that says it is too large for ``images`` images before reading any of it."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if declared > images * (settings.MAX_UPLOAD_BYTES * 4 // 3 + BODY_OVERHEAD_BYTES):
        raise BodyTooLarge()


def discard_unread_body(request) -> None:
    """Read what is left of a refused request's body, up to the size an upload may
    have, and drop it. ``request``: Django's or DRF's.

    Answering before the client has sent its whole body and leaving the rest unread
    makes the server's socket reset the connection: the client often sees a broken
    connection instead of the 429, 413 or 503 it was sent.
    """
    request = getattr(request, "_request", request)
    try:
        check_content_length(request)
    except BodyTooLarge:
        return  # refused for its size: not read
    try:
        while request.read(256 * 1024):
            pass
    except OSError:
        pass  # the client is gone: nobody to answer


class SizeLimitedUploadHandler(FileUploadHandler):
    """Stops a multipart upload as soon as one file passes MAX_UPLOAD_BYTES, whatever
    the request's Content-Length said (it may be absent or wrong)."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.MAX_UPLOAD_BYTES:
            raise FileTooLarge()
        return raw_data

    def file_complete(self, file_size):
        return None


class UploadLimits:
    """For an APIView whose POST takes images: the size limits, and an unread body
    discarded when the request is refused. ``upload_images``: how many one body may hold."""

    upload_images = 1

    def initialize_request(self, request, *args, **kwargs):
        # Before DRF reads the body: the limit applies while it streams in.
        request.upload_handlers.insert(0, SizeLimitedUploadHandler(request))
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        if request.method == "POST":
            check_content_length(request, self.upload_images)
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if self.request.method == "POST" and not isinstance(exc, BodyTooLarge):
            discard_unread_body(self.request)
        return response
