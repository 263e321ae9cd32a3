"""Broken and hostile files, made in code, with the error code each must end in."""

import io

from PIL import Image


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def truncated_jpeg(photo: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(photo)).convert("RGB").save(buffer, "JPEG", quality=90)
    whole = buffer.getvalue()
    return whole[: len(whole) // 2]


def decompression_bomb() -> bytes:
    """400 megapixels in about 50 kB: a one-bit PNG of one colour."""
    return _png(Image.new("1", (20000, 20000)))


def needle() -> bytes:
    return _png(Image.new("RGB", (1, 60000), (200, 30, 30)))


def bad_files(photo: bytes) -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, the error code its recognition must fail with)."""
    return {
        "notes.txt": (b"This is a text file, not a photo.\n" * 20, "not_an_image"),
        "empty.jpg": (b"", "empty_file"),
        "truncated.jpg": (truncated_jpeg(photo), "corrupt_image"),
        "bomb.png": (decompression_bomb(), "too_many_pixels"),
        "needle.png": (needle(), "image_too_small"),
    }
