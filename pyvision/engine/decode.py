"""Bytes -> an upright RGB Pillow image, or an ImageError with a clear code.

The pixel limit is checked from the header, before any pixel is decoded, so a
decompression bomb costs a few hundred bytes of reading, not gigabytes of memory.
Within the limit, the memory a decode takes is reserved from ``memory.decoding``
before it starts. A large JPEG is decoded at a reduced scale (``draft``), and so is a
large WebP, by libwebp through libvips; a large PNG or TIFF is decoded by libvips a
strip at a time and shrunk as it goes, so the full-size picture is never held (a
7000 x 7000 RGBA PNG: about 50 MB instead of 200; a WebP: 10 MB instead of 750); other
images are shrunk in their own mode right after loading, before any conversion could
copy them at full size.
"""

import io
import struct
import warnings
from functools import cache

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from . import errors
from .errors import ImageError
from .memory import decoding, give_back_freed_heap

pillow_heif.register_heif_opener()

# Our own limit replaces Pillow's global one, which would raise its own exception
# type (or only warn) at a threshold that is not ours.
Image.MAX_IMAGE_PIXELS = None

DEFAULT_MAX_PIXELS = 50_000_000
MIN_SIDE = 16
# JPEG covers multi-picture JPEGs (MPO) too.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF", "AVIF")
# Rows of an image with alpha shrunk at a time: Pillow premultiplies alpha on a copy.
ALPHA_STRIP_ROWS = 256
# Above what Pillow's decode would take, libvips reads the images it can read row by row.
STREAM_ABOVE_BYTES = 64 * 1024 * 1024
# What libvips' strips, shrinking and colour conversion take at most, measured at 50-60 MB.
STREAMED_DECODE_BYTES = 64 * 1024 * 1024


def decode(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, draft_size: tuple[int, int] | None = None) -> Image.Image:
    """Decode the first frame of an image file.

    ``draft_size`` lets the image decode at a reduced scale no smaller than that size:
    JPEGs while decoding, other formats by an integer factor right after.
    """
    if not data:
        raise ImageError(errors.EMPTY_FILE, "The file is empty.")
    webp_size = _webp_canvas_size(data)
    if webp_size is not None:
        check_size(webp_size, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            check_size(image.size, max_pixels)
            full_size = image.size
            if draft_size is not None and image.format in ("JPEG", "MPO"):
                image.draft("RGB", draft_size)
            elif draft_size is not None and _streams(image, full_size):
                with decoding.reserve(STREAMED_DECODE_BYTES):
                    streamed = _decode_streamed(data, full_size, draft_size)
                if streamed is not None:
                    return streamed
            with decoding.reserve(_decoding_bytes(image, full_size, shrunk=draft_size is not None)):
                image.load()
                if draft_size is not None:
                    image = _shrink(image, draft_size)
                # In place: without an orientation to apply, it would return a copy (0.4 ms).
                ImageOps.exif_transpose(image, in_place=True)
                return to_rgb(image)
    except UnidentifiedImageError:
        raise ImageError(errors.NOT_AN_IMAGE, "The file is not an image in a supported format "
                         "(JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC/HEIF, AVIF).") from None
    except ImageError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, TypeError,
            IndexError, KeyError, ZeroDivisionError, struct.error, RuntimeError) as exc:
        # Pillow's plugins report broken files through many exception types; libheif and
        # libavif (HEIC, AVIF) a damaged picture as RuntimeError.
        raise ImageError(errors.CORRUPT_IMAGE, f"The image is truncated or corrupt ({_describe(exc)}).") from None


def declared_pixels(file) -> int | None:
    """How many pixels an image file says it has, read from its header without decoding
    it; None for a file that is no image this module reads. The file's position is kept."""
    start = file.tell()
    try:
        size = _webp_canvas_size(file.read(30))
        file.seek(start)
        if size is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(file, formats=FORMATS) as image:
                    size = image.size
        return size[0] * size[1]
    except (OSError, ValueError, SyntaxError, EOFError, TypeError, IndexError, KeyError, struct.error, RuntimeError):
        return None  # libheif and libavif: RuntimeError
    finally:
        file.seek(start)


def _decoding_bytes(image: Image.Image, full_size: tuple[int, int], *, shrunk: bool) -> int:
    """What decoding the opened image will take at most, from its header."""
    width, height = image.size
    pixel_bytes = 1 if image.mode in ("1", "L", "P") else 2 if image.mode.startswith("I;16") else 4
    needed = width * height * pixel_bytes
    if image.info.get("progressive"):
        # libjpeg keeps every coefficient of a progressive JPEG, at full size whatever the draft.
        needed += full_size[0] * full_size[1] * 2 * len(image.getbands())
    if image.format in ("HEIF", "AVIF"):
        needed *= 2  # libheif's picture, then Pillow's copy
    elif image.format == "WEBP":
        needed *= 4  # libwebp's canvas and Pillow's copies of it: 750 MB for 7000 x 7000, measured
    if not shrunk:
        needed += width * height * 4 * 3  # to_rgb's copies at full size (RGBA, white, composite)
    return needed


def _shrink(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Shrink by the largest integer factor that keeps each side at least ``size``, as a
    JPEG's draft does, without ever copying the image at full size."""
    factor = min(image.width // size[0], image.height // size[1])
    if factor < 2:
        return image
    reduced = (image.width // factor, image.height // factor)
    # The orientation may live in TIFF tags that a new image does not keep.
    exif = image.getexif()
    if image.mode in ("P", "PA"):
        # Averaging palette indices would mix unrelated colours.
        small = image.resize(reduced, Image.Resampling.NEAREST)
    elif image.mode in ("1", "I;16", "I;16B", "I;16L", "I;16N"):
        small = image.resize(reduced, Image.Resampling.BOX)  # modes Image.reduce does not take
    elif image.mode in ("RGBA", "LA"):
        # Pillow premultiplies alpha on a full-size copy: strip by strip, the copy stays small.
        small = Image.new(image.mode, reduced)
        rows = ALPHA_STRIP_ROWS // factor * factor or factor
        for top in range(0, reduced[1] * factor, rows):
            strip = image.crop((0, top, reduced[0] * factor, min(top + rows, reduced[1] * factor)))
            small.paste(strip.reduce(factor), (0, top // factor))
        small.info = dict(image.info)
    else:
        small = image.reduce(factor)
    if exif:
        small.info["exif"] = exif.tobytes()
    return small


def _streams(image: Image.Image, full_size: tuple[int, int]) -> bool:
    """Whether libvips decodes this image, and it is large enough for that to matter:
    a PNG or TIFF a strip at a time, a WebP scaled down by libwebp as it decodes. Not an
    interlaced PNG (its last pass touches every row): libvips would hold it whole, as
    Pillow does."""
    if image.format not in ("PNG", "TIFF", "WEBP") or (image.format == "PNG" and image.info.get("interlace")):
        return False
    return _decoding_bytes(image, full_size, shrunk=True) > STREAM_ABOVE_BYTES


def _decode_streamed(data: bytes, full_size: tuple[int, int], size: tuple[int, int]) -> Image.Image | None:
    """A large PNG, TIFF or WebP through libvips, shrunk by the integer factor of
    ``_shrink`` as it is decoded, then made upright RGB on white, as ``to_rgb`` does.
    None if libvips cannot: Pillow then decides (a truncated file, or a kind libvips
    does not convert, such as a LAB TIFF)."""
    pyvips = _libvips()
    factor = min(full_size[0] // size[0], full_size[1] // size[1])
    try:
        if data[8:12] == b"WEBP":
            # libwebp scales while it decodes: the full-size picture never exists.
            image = pyvips.Image.webpload_buffer(data, scale=1 / max(factor, 1), fail_on="truncated")
            factor = 1
        else:
            image = pyvips.Image.new_from_buffer(data, "", access="sequential", fail_on="truncated")
        if image.hasalpha():
            # Before shrinking: averaging the flattened pixels is what premultiplied alpha gives.
            white = 65535 if image.format == "ushort" else 255
            image = image.flatten(background=[white] * (image.bands - 1))
        if factor >= 2:
            reduced = (image.width // factor, image.height // factor)
            image = image.crop(0, 0, reduced[0] * factor, reduced[1] * factor).shrink(factor, factor)
        # After shrinking: 16 bits to 8, and CMYK through its profile, on the small picture.
        image = image.colourspace("srgb").autorot().cast("uchar")
        if image.bands > 3:
            image = image.extract_band(0, n=3)
        return Image.frombytes("RGB", (image.width, image.height), image.write_to_memory())
    except pyvips.Error:
        return None
    finally:
        give_back_freed_heap()


@cache
def _libvips():
    """Imported and set up on the first large image: a process that never decodes one
    (most web processes) does without libvips' 16 MB."""
    import pyvips

    # Its operation cache would keep the last decodes' buffers alive. One thread per
    # decode: the callers decode in parallel already, and each thread of libvips' own
    # pool holds buffers of its own (peak 101 MB for two decodes at once, 178 with more).
    pyvips.cache_set_max(0)
    pyvips.concurrency_set(1)
    return pyvips


def _describe(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
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


def check_size(size: tuple[int, int], max_pixels: int) -> None:
    """Refuses (ImageError) a picture over ``max_pixels``, or with a side under MIN_SIDE."""
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
