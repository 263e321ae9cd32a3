"""Bytes -> an upright RGB Pillow image, or an ImageError with a clear code.

The pixel limit is checked from the header, before any pixel is decoded, so a
decompression bomb costs a few hundred bytes of reading, not gigabytes of memory.
"""

import io
import struct
import warnings

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from . import errors
from .errors import ImageError

pillow_heif.register_heif_opener()

# Our own limit replaces Pillow's global one, which would raise its own exception
# type (or only warn) at a threshold that is not ours.
Image.MAX_IMAGE_PIXELS = None

DEFAULT_MAX_PIXELS = 50_000_000
MIN_SIDE = 16
# JPEG covers multi-picture JPEGs (MPO) too.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF", "AVIF")


def decode(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, draft_size: tuple[int, int] | None = None) -> Image.Image:
    """Decode the first frame of an image file.

    ``draft_size`` lets JPEGs decode at a reduced scale no smaller than that size.
    """
    if not data:
        raise ImageError(errors.EMPTY_FILE, "The file is empty.")
    webp_size = _webp_canvas_size(data)
    if webp_size is not None:
        _check_size(webp_size, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            _check_size(image.size, max_pixels)
            if draft_size is not None and image.format in ("JPEG", "MPO"):
                image.draft("RGB", draft_size)
            image.load()
            image = ImageOps.exif_transpose(image)
            return to_rgb(image)
    except UnidentifiedImageError:
        raise ImageError(errors.NOT_AN_IMAGE, "The file is not an image in a supported format "
                         "(JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC/HEIF, AVIF).") from None
    except ImageError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, TypeError,
            IndexError, KeyError, ZeroDivisionError, struct.error) as exc:
        # Pillow's plugins report broken files through many exception types.
        raise ImageError(errors.CORRUPT_IMAGE, f"The image is truncated or corrupt ({_describe(exc)}).") from None


def _describe(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:200]


def _webp_canvas_size(data: bytes) -> tuple[int, int] | None:
    """The size a WebP file declares, read from its first chunk.

    Needed before Image.open: Pillow's WebP plugin opens files with libwebp's animation
    decoder, which allocates the whole canvas (up to 1 GB) before we could see the size.
    """
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        return (int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF)
    return None


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageError(
            errors.TOO_MANY_PIXELS,
            f"The image is {width}x{height} pixels ({width * height:,}); the limit is {max_pixels:,} pixels.",
        )
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            errors.IMAGE_TOO_SMALL,
            f"The image is {width}x{height} pixels; each side must be at least {MIN_SIDE} pixels.",
        )


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB, compositing transparency on white."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # Pillow's convert() clips wide greyscale to 0..255 instead of scaling it.
        pixels = np.clip(np.asarray(image, dtype=np.int64), 0, None)
        if image.mode == "I" and pixels.max(initial=0) <= 255:
            scaled = pixels
        else:
            scaled = np.minimum(pixels, 65535) // 257
        return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")
    if image.mode == "F":
        pixels = np.asarray(image, dtype=np.float32)
        scale = 255.0 if pixels.max(initial=0.0) <= 1.0 else 1.0
        return Image.fromarray(np.clip(pixels * scale, 0, 255).astype(np.uint8), "L").convert("RGB")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode in ("P", "L", "RGB", "1") and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
