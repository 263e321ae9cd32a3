"""Broken, hostile and awkward files, made in code, with what each must end in."""

import io
import struct
import zlib
from functools import cache

import numpy as np
from PIL import Image

# Files that are no image at all; each must be refused as not_an_image.
NON_IMAGES = {
    "text": b"hello, this is a plain text file\n",
    "pdf": b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "html": b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
    "svg-with-script": b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
                       b"<script>alert(1)</script><rect width='100' height='100'/></svg>",
    "elf-executable": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 100,
}


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _png(image: Image.Image) -> bytes:
    return encode(image, "PNG", optimize=True)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int, bit_depth: int, colour_type: int) -> bytes:
    """The PNG signature and IHDR chunk."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)


def png_file(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    return (png_header(width, height, bit_depth, colour_type)
            + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b""))


def rgb48_png(pixels: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG, built by hand: Pillow has no mode that writes one."""
    height, width, _ = pixels.shape
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)
    return png_file(width, height, 16, 2, rows)


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


def damaged_avif() -> bytes:
    """An AVIF whose header is sound and whose coded picture is blanked: libavif fails to
    decode it, with a RuntimeError where other decoders raise OSError."""
    data = bytearray(encode(Image.new("RGB", (64, 48), (200, 30, 30)), "AVIF"))
    payload = data.index(b"mdat") + 4
    data[payload:] = bytes(len(data) - payload)
    return bytes(data)


def avif_of_unknown_item() -> bytes:
    """An AVIF whose one picture is of an item type no decoder knows: libheif refuses it as
    soon as it is opened, with a RuntimeError."""
    data = encode(Image.new("RGB", (64, 48), (200, 30, 30)), "AVIF")
    return data.replace(b"av01", b"av0\x00", 1)


def bad_files(photo: bytes) -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, the error code its recognition must fail with)."""
    return {
        "notes.txt": (b"This is a text file, not a photo.\n" * 20, "not_an_image"),
        "empty.jpg": (b"", "empty_file"),
        "truncated.jpg": (truncated_jpeg(photo), "corrupt_image"),
        "damaged.avif": (damaged_avif(), "corrupt_image"),
        "bomb.png": (decompression_bomb(), "too_many_pixels"),
        "needle.png": (needle(), "image_too_small"),
    }


# --- Decompression bombs that are only a header ------------------------------------------
# Each claims billions of pixels in a few dozen bytes and holds no pixel data: a decoder
# that refuses them has read the header only, and allocated nothing for the pixels.

def png_header_bomb() -> bytes:
    # Pillow needs an IDAT chunk to recognise a PNG; an empty one holds no pixels.
    return png_file(30_000, 30_000, 8, 2, rows=b"")


def gif_header_bomb() -> bytes:
    screen = struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0)
    return b"GIF89a" + screen + descriptor + b"\x02\x02\x44\x01\x00;"


def webp_header_bomb() -> bytes:
    """A real 16x16 lossless WebP whose header is changed to say 16383x16383."""
    data = bytearray(encode(Image.new("RGB", (16, 16), (200, 30, 30)), "WEBP", lossless=True))
    header = data.index(b"VP8L") + 9  # after the chunk size and the 0x2f signature
    bits = int.from_bytes(data[header:header + 4], "little")
    bits = (bits & ~((1 << 28) - 1)) | (16383 - 1) | ((16383 - 1) << 14)
    data[header:header + 4] = bits.to_bytes(4, "little")
    return bytes(data)


def tiff_header_bomb() -> bytes:
    width = height = 100_000
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
               (273, 4, 0), (277, 3, 1), (278, 4, height), (279, 4, 0)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in entries)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)


HEADER_BOMBS = {
    "png": png_header_bomb,
    "gif": gif_header_bomb,
    "webp": webp_header_bomb,
    "tiff": tiff_header_bomb,
}


# --- The whole corpus -------------------------------------------------------------------

def _solid(colour=(200, 30, 30), size=(64, 48), mode="RGB") -> Image.Image:
    return Image.new(mode, size, colour)


def _animation(fmt: str, **params) -> bytes:
    return encode(_solid(), fmt, save_all=True, append_images=[_solid((30, 30, 200))], duration=100, loop=0, **params)


def _transparent_palette() -> bytes:
    image = _solid().convert("P")
    image.info["transparency"] = 0
    return encode(image, "PNG")


def _oriented(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(_solid(size=(40, 20)), "JPEG", quality=90, exif=exif)


def _corrupt_png() -> bytes:
    data = bytearray(encode(Image.effect_noise((256, 256), 64).convert("RGB"), "PNG"))
    idat = data.index(b"IDAT")
    for i in range(idat + 100, idat + 200):
        data[i] ^= 0xFF
    return bytes(data)


def _truncated_jpeg() -> bytes:
    whole = encode(Image.effect_noise((256, 256), 64).convert("RGB"), "JPEG", quality=90)
    return whole[: len(whole) // 2]


@cache
def corpus() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, "done" or the error code its recognition must fail with)."""
    files = {f"bomb-header.{fmt}": (make(), "too_many_pixels") for fmt, make in HEADER_BOMBS.items()}
    files.update({f"{name}.bin": (data, "not_an_image") for name, data in NON_IMAGES.items()})
    files.update({f"orientation-{n}.jpg": (_oriented(n), "done") for n in range(1, 9)})
    files.update({
        "bomb-complete.png": (decompression_bomb(), "too_many_pixels"),
        "truncated.jpg": (_truncated_jpeg(), "corrupt_image"),
        "corrupt.png": (_corrupt_png(), "corrupt_image"),
        "damaged.avif": (damaged_avif(), "corrupt_image"),
        "unknown-item.avif": (avif_of_unknown_item(), "corrupt_image"),
        "sliver-1x100000.png": (_png(Image.new("RGB", (1, 100_000), (200, 30, 30))), "image_too_small"),
        "png-with-html-appended.png": (encode(_solid(), "PNG") + b"<html><script>alert(1)</script></html>", "done"),
        "animated.gif": (_animation("GIF"), "done"),
        "animated.webp": (_animation("WEBP", lossless=True), "done"),
        "16-bit.png": (rgb48_png(np.full((48, 64, 3), 40000, np.uint16)), "done"),
        "cmyk.jpg": (encode(_solid((0, 200, 200, 0), mode="CMYK"), "JPEG"), "done"),
        "palette-transparency.png": (_transparent_palette(), "done"),
    })
    return files
