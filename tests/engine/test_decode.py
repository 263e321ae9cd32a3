"""decode(): every supported format, orientation and mode comes out as an upright RGB
image, and every kind of bad upload is refused with the right code and a clear message.

All inputs are generated here; nothing is read from disk.
"""

import io
import subprocess
import sys

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from pyvision.engine import errors
from pyvision.engine.decode import decode
from pyvision.engine.errors import ImageError
from tests import heavy_images
from tests.bad_images import NON_IMAGES, png_file, rgb48_png

pillow_heif.register_heif_opener()

RED = (255, 0, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def solid(colour, size=(64, 48), mode="RGB") -> Image.Image:
    return Image.new(mode, size, colour)


def two_frames(fmt: str, **params) -> bytes:
    """An animation (or multi-page file) whose first frame is red and second blue."""
    return encode(solid(RED), fmt, save_all=True, append_images=[solid(BLUE)], **params)


def assert_close(pixel, expected, tolerance=40):
    assert all(abs(got - want) <= tolerance for got, want in zip(pixel, expected)), (pixel, expected)


def assert_refused(data: bytes, code: str, **kwargs) -> ImageError:
    with pytest.raises(ImageError) as caught:
        decode(data, **kwargs)
    error = caught.value
    assert error.code == code, error
    assert error.code in errors.CODES
    # A sentence a person can read: capitalised, ended, and no Python repr in it.
    assert error.message[0].isupper() and error.message.endswith("."), error.message
    assert "Traceback" not in error.message and "Error(" not in error.message
    assert str(error) == error.message
    return error


# --- Formats ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, params", [
    ("JPEG", {"quality": 95}),
    ("PNG", {}),
    ("BMP", {}),
    ("TIFF", {}),
    ("WEBP", {"quality": 95}),
    ("HEIF", {"quality": 95}),
    ("AVIF", {"quality": 95}),
])
def test_format_decodes_to_rgb_of_the_right_size(fmt, params):
    colour = (200, 30, 60)
    image = decode(encode(solid(colour), fmt, **params))
    assert image.mode == "RGB"
    assert image.size == (64, 48)
    assert_close(image.getpixel((32, 24)), colour)


@pytest.mark.parametrize("fmt, params", [
    ("GIF", {"duration": 100, "loop": 0}),
    ("WEBP", {"duration": 100, "loop": 0, "lossless": True}),
    ("TIFF", {}),
    ("MPO", {}),  # multi-picture JPEG, as some cameras and phones write
])
def test_animation_or_multipage_file_uses_its_first_frame(fmt, params):
    image = decode(two_frames(fmt, **params))
    assert image.mode == "RGB"
    assert image.size == (64, 48)
    assert_close(image.getpixel((32, 24)), RED, tolerance=5)


# --- EXIF orientation ------------------------------------------------------------------

# For each EXIF Orientation value, how the camera stored the upright picture
# (the inverse of what a viewer must do to show it upright).
STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def upright_picture() -> Image.Image:
    """40x20 grey with a red top-left corner: no flip or rotation leaves it unchanged."""
    image = solid((128, 128, 128), (40, 20))
    image.paste(RED, (0, 0, 10, 10))
    return image


def red_corners(image: Image.Image) -> list[str]:
    width, height = image.size
    corners = {"top-left": (4, 4), "top-right": (width - 5, 4),
               "bottom-left": (4, height - 5), "bottom-right": (width - 5, height - 5)}
    return [name for name, xy in corners.items()
            if image.getpixel(xy)[0] > 200 and image.getpixel(xy)[1] < 80]


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
def test_exif_orientation_is_applied(orientation):
    stored = upright_picture()
    if STORED_AS[orientation] is not None:
        stored = stored.transpose(STORED_AS[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    image = decode(encode(stored, "JPEG", quality=95, exif=exif))
    assert image.size == (40, 20)
    assert red_corners(image) == ["top-left"]


# --- Modes -----------------------------------------------------------------------------

def test_greyscale_becomes_grey_rgb():
    image = decode(encode(solid(90, mode="L"), "PNG"))
    assert image.mode == "RGB"
    assert image.getpixel((0, 0)) == (90, 90, 90)


def test_greyscale_with_alpha_is_composited_on_white():
    picture = solid((0, 255), mode="LA")
    picture.putpixel((0, 0), (0, 0))
    image = decode(encode(picture, "PNG"))
    assert image.getpixel((0, 0)) == WHITE
    assert image.getpixel((5, 5)) == (0, 0, 0)


def test_bilevel_becomes_black_and_white():
    picture = solid(0, mode="1")
    picture.paste(1, (0, 0, 32, 48))
    image = decode(encode(picture, "PNG"))
    assert image.mode == "RGB"
    assert image.getpixel((0, 0)) == WHITE
    assert image.getpixel((40, 0)) == (0, 0, 0)


def test_palette_image_keeps_its_colours():
    picture = solid(RED).quantize(colors=4)
    assert picture.mode == "P"
    assert decode(encode(picture, "PNG")).getpixel((0, 0)) == RED


def test_transparent_palette_pixels_become_white():
    picture = Image.new("P", (64, 48), 1)
    picture.putpalette([0, 0, 0, *RED] + [0] * 762)
    picture.paste(0, (0, 0, 32, 48))
    image = decode(encode(picture, "PNG", transparency=0))
    assert image.getpixel((0, 0)) == WHITE
    assert image.getpixel((40, 0)) == RED


def test_rgba_is_composited_on_white():
    picture = solid((0, 0, 0, 255), mode="RGBA")
    picture.putpixel((0, 0), (0, 0, 0, 128))
    picture.putpixel((1, 0), (0, 0, 0, 0))
    image = decode(encode(picture, "PNG"))
    assert_close(image.getpixel((0, 0)), (127, 127, 127), tolerance=2)
    assert image.getpixel((1, 0)) == WHITE
    assert image.getpixel((5, 5)) == (0, 0, 0)


def test_cmyk_jpeg_keeps_its_colours():
    image = decode(encode(solid((255, 0, 0, 0), mode="CMYK"), "JPEG", quality=95))
    assert image.mode == "RGB"
    assert_close(image.getpixel((10, 10)), (0, 255, 255))


def test_16_bit_greyscale_is_scaled_not_clipped():
    pixels = np.zeros((48, 64), dtype=np.uint16)
    pixels[:, :16] = 65535
    pixels[:, 16:32] = 32768
    pixels[:, 32:48] = 255  # nearly black at 16 bits
    picture = Image.fromarray(pixels)
    assert picture.mode == "I;16"
    image = decode(encode(picture, "PNG"))
    assert image.getpixel((0, 0)) == WHITE
    assert_close(image.getpixel((20, 0)), (128, 128, 128), tolerance=1)
    assert_close(image.getpixel((40, 0)), (0, 0, 0), tolerance=1)


def test_negative_32_bit_greyscale_is_black_not_white():
    picture = Image.fromarray(np.full((48, 64), -5, np.int32), "I")
    assert decode(encode(picture, "TIFF")).getpixel((0, 0)) == (0, 0, 0)


def test_16_bit_rgb_keeps_its_colours():
    pixels = np.zeros((48, 64, 3), dtype=np.uint16)
    pixels[:, :32] = (65535, 0, 32768)
    pixels[:, 32:] = (0, 65535, 0)
    image = decode(rgb48_png(pixels))
    assert image.mode == "RGB"
    assert image.size == (64, 48)
    assert_close(image.getpixel((0, 0)), (255, 0, 128), tolerance=1)
    assert image.getpixel((40, 0)) == (0, 255, 0)


# --- Bad input -------------------------------------------------------------------------

def test_empty_file_is_refused():
    assert_refused(b"", errors.EMPTY_FILE)


@pytest.mark.parametrize("data", NON_IMAGES.values(), ids=NON_IMAGES.keys())
def test_non_image_is_refused(data):
    error = assert_refused(data, errors.NOT_AN_IMAGE)
    assert "JPEG" in error.message  # tells the user what is accepted


def test_truncated_jpeg_is_refused_as_corrupt():
    data = encode(Image.effect_noise((256, 256), 64).convert("RGB"), "JPEG")
    assert_refused(data[: len(data) // 2], errors.CORRUPT_IMAGE)


def test_png_with_damaged_pixel_data_is_refused_as_corrupt():
    data = bytearray(encode(Image.effect_noise((256, 256), 64).convert("RGB"), "PNG"))
    idat = data.index(b"IDAT")
    for i in range(idat + 100, idat + 200):
        data[i] ^= 0xFF
    assert_refused(bytes(data), errors.CORRUPT_IMAGE)


def test_png_bomb_is_refused_from_its_header():
    # Pillow needs an IDAT chunk to recognise a PNG; an empty one holds no pixels,
    # so the refusal can only have come from the header.
    data = png_file(30_000, 30_000, 8, 2, rows=b"")
    assert len(data) < 100
    error = assert_refused(data, errors.TOO_MANY_PIXELS)
    assert "30000x30000" in error.message


def test_complete_png_bomb_is_refused():
    # A valid 1-bit 30000x30000 PNG: about 110 kB on disk, 2.7 GB once decoded to RGB.
    row = b"\x00" + bytes(30_000 // 8)
    data = png_file(30_000, 30_000, 1, 0, rows=row * 30_000)
    assert len(data) < 1_000_000
    assert_refused(data, errors.TOO_MANY_PIXELS)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "TIFF", "JPEG", "HEIF", "AVIF"])
def test_image_over_the_pixel_limit_is_refused(fmt):
    data = encode(solid(RED, (1200, 1000)), fmt)
    error = assert_refused(data, errors.TOO_MANY_PIXELS, max_pixels=1_000_000)
    assert "1200x1000" in error.message and "1,000,000" in error.message


def test_image_at_the_pixel_limit_is_accepted():
    assert decode(encode(solid(RED, (1000, 1000)), "PNG"), max_pixels=1_000_000).size == (1000, 1000)


def test_sliver_image_is_refused_as_too_small():
    error = assert_refused(encode(solid(RED, (1, 60_000)), "PNG"), errors.IMAGE_TOO_SMALL)
    assert "1x60000" in error.message


def test_png_with_html_after_its_end_still_decodes():
    data = encode(solid(RED), "PNG") + b"<html><script>alert(1)</script></html>"
    image = decode(data)
    assert image.size == (64, 48)
    assert image.getpixel((0, 0)) == RED


# --- Reduced-scale JPEG decoding -------------------------------------------------------

def test_draft_size_decodes_a_large_jpeg_smaller_but_not_below_the_requested_size():
    data = encode(solid(RED, (2000, 1500)), "JPEG")
    image = decode(data, draft_size=(256, 256))
    assert image.mode == "RGB"
    assert image.width < 2000 and image.height < 1500
    assert image.width >= 256 and image.height >= 256
    assert image.width * 3 == image.height * 4  # same aspect ratio


def test_without_draft_size_a_jpeg_decodes_at_full_size():
    assert decode(encode(solid(RED, (2000, 1500)), "JPEG")).size == (2000, 1500)


# --- Large PNG and TIFF: decoded a strip at a time, shrinking as they go ----------------

# Above 64 MB at full size (4 bytes a pixel in Pillow): libvips decodes these.
LARGE = (4200, 4100)


def shrunk_by_pillow(data: bytes, factor: int) -> np.ndarray:
    """The same picture the way Pillow would make it: whole, on white, then reduced
    (the last rows and columns that make no whole block are left out)."""
    whole = Image.open(io.BytesIO(data))
    whole.load()
    on_white = Image.alpha_composite(Image.new("RGBA", whole.size, WHITE), whole.convert("RGBA")).convert("RGB")
    blocks = on_white.crop((0, 0, whole.width // factor * factor, whole.height // factor * factor))
    return np.asarray(blocks.reduce(factor), dtype=np.int16)


def test_a_large_16_bit_rgba_png_decodes_to_the_picture_pillow_would_make():
    data = heavy_images.rgba64_png(4200)
    image = decode(data, draft_size=(256, 256))
    assert image.mode == "RGB" and image.size == (4200 // 16, 4200 // 16)
    difference = np.abs(np.asarray(image, dtype=np.int16) - shrunk_by_pillow(data, 16))
    assert difference.max() <= 2


def test_a_large_tiff_is_turned_upright():
    picture = Image.new("RGB", LARGE, BLUE)
    picture.paste(RED, (0, 0, LARGE[0], 500))  # red along the top edge
    data = encode(picture, "TIFF", tiffinfo={274: 6}, compression="tiff_deflate")  # orientation: turn 90 degrees clockwise
    image = decode(data, draft_size=(256, 256))
    assert image.width < image.height  # turned: the long side stands
    assert_close(image.getpixel((image.width - 2, image.height // 2)), RED)  # the top edge is now on the right
    assert_close(image.getpixel((2, image.height // 2)), BLUE)


def test_a_large_cmyk_tiff_keeps_its_colours():
    data = encode(Image.new("CMYK", LARGE, (0, 255, 255, 0)), "TIFF", compression="tiff_deflate")
    image = decode(data, draft_size=(256, 256))
    # Through a CMYK colour profile: this red comes out as (232, 31, 42).
    assert_close(image.getpixel((10, 10)), RED, tolerance=50)


def test_a_large_webp_with_alpha_is_composited_on_white():
    picture = Image.new("RGBA", LARGE, (0, 0, 255, 0))
    picture.paste((255, 0, 0, 255), (0, 0, LARGE[0] // 2, LARGE[1]))
    image = decode(encode(picture, "WEBP", lossless=True), draft_size=(256, 256))
    assert_close(image.getpixel((5, image.height // 2)), RED)
    assert_close(image.getpixel((image.width - 5, image.height // 2)), WHITE)


def test_a_large_webp_is_decoded_scaled_down_never_at_full_size():
    """Under an address-space cap of 512 MB above what the process uses (libvips' threads
    take address space, if little memory): the 750 MB that decoding 7000 x 7000 at full
    size takes would fail there."""
    capped = (
        "import resource, sys\n"
        "from pyvision.engine.decode import _libvips, decode\n"
        "from tests import heavy_images\n"
        "data = heavy_images.large_webp()\n"
        "_libvips()  # its libraries mapped before the cap\n"
        "used = int(open('/proc/self/status').read().split('VmSize:')[1].split()[0]) * 1024\n"
        "resource.setrlimit(resource.RLIMIT_AS, (used + 512 * 2**20,) * 2)\n"
        "image = decode(data, draft_size=(256, 256))\n"
        "print(image.mode, *image.size)\n")
    run = subprocess.run([sys.executable, "-c", capped], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    mode, width, height = run.stdout.split()
    assert mode == "RGB" and 256 <= int(width) < 512 and 256 <= int(height) < 512


def test_a_large_tiff_that_libvips_does_not_convert_decodes_as_a_small_one_does():
    # LAB: libvips refuses it; Pillow, which decodes the small ones, reads it.
    data = encode(Image.new("LAB", LARGE, (54, 81, 70)), "TIFF", compression="tiff_deflate")
    image = decode(data, draft_size=(256, 256))
    assert image.mode == "RGB" and image.width >= 256


def test_a_large_truncated_png_is_refused_as_corrupt():
    data = heavy_images.rgba64_png(4200)
    error = assert_refused(data[: len(data) // 2], errors.CORRUPT_IMAGE, draft_size=(256, 256))
    assert "\n" not in error.message
