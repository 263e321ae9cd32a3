"""The upload size limit, enforced while the body streams in, not after it is stored."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler

from . import errors

# Multipart boundaries and fields, and base64's 4/3, on top of the image itself.
BODY_OVERHEAD_BYTES = 64 * 1024


def too_large() -> errors.ApiError:
    return errors.ApiError(errors.FILE_TOO_LARGE,
                           f"The image is larger than the {settings.MAX_UPLOAD_BYTES // (1024 * 1024)} MB upload limit.")


def check_content_length(request) -> None:
    """Refuse a body that says it is too large before reading any of it."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if declared > settings.MAX_UPLOAD_BYTES * 4 // 3 + BODY_OVERHEAD_BYTES:
        raise too_large()


class SizeLimitedUploadHandler(FileUploadHandler):
    """Stops a multipart upload as soon as one file passes MAX_UPLOAD_BYTES, whatever
    the request's Content-Length said (it may be absent or wrong)."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.MAX_UPLOAD_BYTES:
            raise too_large()
        return raw_data

    def file_complete(self, file_size):
        return None
