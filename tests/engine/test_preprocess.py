"""The official EfficientNet-Lite preprocessing, checked against values worked out by hand."""

import numpy as np
import pytest
from PIL import Image

from pyvision.engine.preprocess import crop_box, decode_size_hint, preprocess


def test_the_crop_is_the_centre_square_of_side_size_over_size_plus_32():
    # 224 / 256 * 480 = 420, centred in 640x480.
    assert crop_box(640, 480, 224) == (110, 30, 530, 450)
    # Portrait: 260 / 292 * 300 = 267.1 -> 267.
    assert crop_box(300, 500, 260) == (17, 117, 284, 384)


def test_pixels_are_scaled_by_127_and_128():
    flat = Image.new("RGB", (300, 300), (127, 255, 0))
    pixels = preprocess(flat, 224)
    assert pixels.shape == (3, 224, 224)
    assert pixels.dtype == np.float32
    assert np.allclose(pixels[0], 0.0)
    assert np.allclose(pixels[1], 128 / 128)
    assert np.allclose(pixels[2], -127 / 128)


def test_what_lies_outside_the_crop_is_not_seen():
    # A white frame 20 px wide around black: 224/256 of 400 is 350, so the crop
    # starts 25 px in and never reaches the frame.
    image = Image.new("RGB", (400, 400), (255, 255, 255))
    image.paste((0, 0, 0), (20, 20, 380, 380))
    pixels = preprocess(image, 224)
    assert pixels.max() == pytest.approx(-127 / 128)


def test_the_result_matches_crop_then_bicubic_resize():
    # Smooth content: at the crop's edge the resize filter may read a pixel or two
    # beyond it, which only matters for noise.
    y, x = np.mgrid[0:333, 0:500]
    waves = np.stack([np.sin(x / 40), np.cos(y / 30), np.sin((x + y) / 50)], axis=-1)
    image = Image.fromarray(((waves + 1) * 127.5).astype(np.uint8))
    expected = image.crop(crop_box(500, 333, 224)).resize((224, 224), Image.Resampling.BICUBIC)
    expected = (np.asarray(expected, np.float32).transpose(2, 0, 1) - 127) / 128
    assert np.abs(preprocess(image, 224) - expected).max() <= 1 / 128 + 1e-6


def test_the_channels_come_first_in_rgb_order():
    image = Image.new("RGB", (256, 256), (255, 0, 0))
    pixels = preprocess(image, 224)
    assert pixels[0].mean() > 0.99 and pixels[1].mean() < -0.99 and pixels[2].mean() < -0.99


def test_jpeg_draft_keeps_enough_pixels_for_a_full_resolution_crop():
    width, height = decode_size_hint(224)
    assert crop_box(width, height, 224)[2] - crop_box(width, height, 224)[0] >= 224
