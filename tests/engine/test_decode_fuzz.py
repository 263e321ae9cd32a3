"""Random and mutated bytes through decode(): it returns an RGB image or raises the
engine's ImageError with a known code, never anything else."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from pyvision.engine import errors
from pyvision.engine.decode import decode
from pyvision.engine.errors import ImageError
from tests import bad_images

# Small, so that a mutation that makes a header claim more pixels stays cheap to decode.
MAX_PIXELS = 2_000_000


def _seeds() -> list[bytes]:
    picture = Image.effect_noise((48, 40), 64).convert("RGB")
    seeds = [bad_images.encode(picture, fmt) for fmt in ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")]
    seeds.append(bad_images.encode(picture.convert("RGBA"), "PNG"))
    seeds.append(bad_images.encode(picture, "WEBP", lossless=True))
    seeds.extend(make() for make in bad_images.HEADER_BOMBS.values())
    return seeds


SEEDS = _seeds()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_decodes_or_refuses(data: bytes) -> None:
    try:
        image = decode(data, max_pixels=MAX_PIXELS)
    except ImageError as exc:
        assert exc.code in errors.CODES, exc
        assert exc.message and exc.message[0].isupper()
    else:
        assert image.mode == "RGB"
        assert image.width * image.height <= MAX_PIXELS


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[at:]
    return bytes(data)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    assert_decodes_or_refuses(data)


@FUZZ
@given(mutated())
def test_mutated_images(data):
    assert_decodes_or_refuses(data)


@FUZZ
@given(st.sampled_from(SEEDS), st.binary(min_size=1, max_size=64))
def test_images_with_bytes_appended(seed, tail):
    assert_decodes_or_refuses(seed + tail)


@pytest.mark.parametrize("seed", SEEDS[:8])
def test_the_seeds_decode(seed):
    # Mutations start from real images: if these did not decode, the fuzzing would
    # only ever exercise the refusals.
    assert decode(seed, max_pixels=MAX_PIXELS).size == (48, 40)
