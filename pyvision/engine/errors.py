"""The one exception type the engine raises for bad input.

Every refusal carries a stable machine-readable ``code`` (clients and the database
store it) and a human-readable ``message``.
"""


class ImageError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"ImageError({self.code!r}, {self.message!r})"


# The codes, in one place so the API documentation and tests can list them.
EMPTY_FILE = "empty_file"
NOT_AN_IMAGE = "not_an_image"
TOO_MANY_PIXELS = "too_many_pixels"
IMAGE_TOO_SMALL = "image_too_small"
CORRUPT_IMAGE = "corrupt_image"

CODES = {
    EMPTY_FILE: "The file is empty.",
    NOT_AN_IMAGE: "The file is not an image in a supported format.",
    TOO_MANY_PIXELS: "The image has more pixels than the configured limit.",
    IMAGE_TOO_SMALL: "The image is too small to recognise.",
    CORRUPT_IMAGE: "The image is truncated or corrupt.",
}
