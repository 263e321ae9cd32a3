"""The site's upload limit, applied while each file streams in."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


class SkipOversizeFiles(FileUploadHandler):
    """Skips the rest of any file that passes MAX_UPLOAD_BYTES, so it is never stored
    whole, and remembers its name to say so; the other files of the form go on."""

    def __init__(self, request=None):
        super().__init__(request)
        self.skipped: list[str] = []

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.MAX_UPLOAD_BYTES:
            self.skipped.append(self.file_name or "?")
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None
