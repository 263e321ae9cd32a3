"""Small files that decode to many pixels, each within the default 50 MP limit, made in code."""

import io
import zlib

import numpy as np
from PIL import Image

from .bad_images import png_chunk, png_header

SIDE = 7000  # 49 MP


def rgba64_png(side: int = SIDE) -> bytes:
    """A 16-bit-per-channel RGBA PNG of about 600 kB: every row repeats the first
    (PNG's "up" filter), so it compresses a thousandfold. Pillow cannot write one."""
    first = np.zeros((side, 4), dtype=">u2")
    first[:, 0] = np.linspace(0, 65535, side)
    first[:, 1] = 40000
    first[:, 2] = np.linspace(65535, 0, side)
    first[:, 3] = 50000
    compressor = zlib.compressobj(9)
    same_again = b"\x02" + bytes(side * 8)
    parts = [compressor.compress(b"\x00" + first.tobytes())]
    parts += [compressor.compress(same_again) for _ in range(side - 1)]
    parts.append(compressor.flush())
    return png_header(side, side, 16, 6) + png_chunk(b"IDAT", b"".join(parts)) + png_chunk(b"IEND", b"")


def _gradients(width: int, height: int, bands: int) -> list[Image.Image]:
    across = Image.linear_gradient("L").rotate(90).resize((width, height))
    down = Image.linear_gradient("L").resize((width, height))
    return [across, down, Image.new("L", (width, height), 90), across.transpose(Image.Transpose.FLIP_LEFT_RIGHT)][:bands]


def progressive_jpeg(width: int = 8660, height: int = 5773) -> bytes:
    """50 MP (just under the default limit), progressive: libjpeg keeps every coefficient."""
    buffer = io.BytesIO()
    Image.merge("RGB", _gradients(width, height, 3)).save(buffer, "JPEG", quality=85, progressive=True)
    return buffer.getvalue()


def cmyk_tiff(side: int = SIDE) -> bytes:
    buffer = io.BytesIO()
    Image.merge("CMYK", _gradients(side, side, 4)).save(buffer, "TIFF", compression="tiff_deflate")
    return buffer.getvalue()


def large_webp(side: int = SIDE) -> bytes:
    """libwebp decodes into a canvas of its own, which Pillow copies: 750 MB at 7000 x 7000."""
    buffer = io.BytesIO()
    Image.merge("RGB", _gradients(side, side, 3)).save(buffer, "WEBP", quality=80, method=0)
    return buffer.getvalue()
