"""Camera RAW files are tagged through the preview embedded in them (rawpy, the
optional extra pyvision[raw])."""

import json

import numpy as np
import pytest
import tifffile
from skimage import data

from pyvision import cli
from pyvision.engine.errors import ImageError
from pyvision.library import raw
from tests.library.conftest import ESPRESSO, as_list, exiftool

rawpy = pytest.importorskip("rawpy", reason="RAW files need the optional extra: pip install 'pyvision[raw]'")


def write_dng(path, picture: np.ndarray, preview: np.ndarray | None = None) -> None:
    """A DNG laid out as cameras and Adobe's converter write them: IFD 0 the developed
    preview (``preview``, RGB or greyscale, else the picture), a sub-IFD the Bayer sensor
    data (made from the picture). LibRaw gives such a preview uncompressed, as pixels."""
    preview = picture if preview is None else preview
    height, width = picture.shape[:2]
    bayer = np.empty((height, width), np.uint16)
    bayer[0::2, 0::2] = picture[0::2, 0::2, 0]
    bayer[0::2, 1::2] = picture[0::2, 1::2, 1]
    bayer[1::2, 0::2] = picture[1::2, 0::2, 1]
    bayer[1::2, 1::2] = picture[1::2, 1::2, 2]
    dng = [(50706, "B", 4, (1, 4, 0, 0), True), (50707, "B", 4, (1, 1, 0, 0), True),  # DNGVersion, backward
           (50708, "s", 0, "pyvision test camera", True),  # UniqueCameraModel
           (50721, "2i", 9, (1, 1, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1), True),  # ColorMatrix1: identity
           (50778, "H", 1, 21, True)]  # CalibrationIlluminant1: D65
    with tifffile.TiffWriter(path) as tif:
        tif.write(preview, photometric="rgb" if preview.ndim == 3 else "minisblack", subfiletype=1, subifds=1,
                  extratags=dng)
        tif.write(bayer << 4, photometric=32803, subfiletype=0,  # CFA
                  extratags=[(33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True),  # RGGB
                             (50717, "I", 1, 4095, True)])  # WhiteLevel


def test_a_dng_gets_a_sidecar_from_its_embedded_preview(tmp_path):
    raw_file = tmp_path / "IMG_0001.DNG"
    write_dng(raw_file, data.coffee())
    with rawpy.imread(str(raw_file)) as raw:  # a file LibRaw reads as a camera RAW
        assert raw.raw_image.shape == data.coffee().shape[:2]
    before = (raw_file.read_bytes(), raw_file.stat().st_mtime_ns)
    assert cli.main(["tag", "--xmp", "--lang", "en,zh-hans", str(tmp_path)]) == 0
    tags = exiftool(tmp_path / "IMG_0001.DNG.xmp")["IMG_0001.DNG.xmp"]
    assert {ESPRESSO["en"], ESPRESSO["zh-hans"]} <= set(as_list(tags["XMP-dc:Subject"]))
    assert (raw_file.read_bytes(), raw_file.stat().st_mtime_ns) == before


def test_a_raw_file_without_a_preview_fails_alone(tmp_path, capsys):
    (tmp_path / "broken.CR2").write_bytes(b"II*\x00" + bytes(200))
    write_dng(tmp_path / "good.dng", data.coffee())
    assert cli.main(["classify", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "good.dng: espresso" in out
    assert "broken.CR2: error corrupt_image" in err


def test_a_dng_with_a_greyscale_preview_is_tagged(tmp_path, capsys):
    write_dng(tmp_path / "IMG_0003.DNG", data.coffee(), preview=data.coffee()[:, :, 0])
    assert cli.main(["tag", "--xmp", "--json", "--min-score", "0.05", str(tmp_path)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["status"] == "tagged" and ESPRESSO["en"] in row["keywords"]
    assert ESPRESSO["en"] in as_list(exiftool(tmp_path / "IMG_0003.DNG.xmp")["IMG_0003.DNG.xmp"]["XMP-dc:Subject"])


def test_a_preview_too_thin_to_recognise_fails_alone(tmp_path, capsys):
    write_dng(tmp_path / "thin.dng", data.coffee(), preview=data.coffee()[:10])
    write_dng(tmp_path / "thin-grey.dng", data.coffee(), preview=data.coffee()[:10, :, 0])
    write_dng(tmp_path / "good.dng", data.coffee())
    assert cli.main(["classify", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "good.dng: espresso" in out
    assert "thin.dng: error image_too_small: The image is 600x10 pixels" in err
    assert "thin-grey.dng: error image_too_small" in err


@pytest.mark.parametrize("preview", [data.coffee(), data.coffee()[:, :, 0]], ids=["rgb", "greyscale"])
def test_a_preview_over_the_pixel_limit_is_refused(tmp_path, preview):
    write_dng(tmp_path / "IMG_0004.DNG", data.coffee(), preview=preview)
    with pytest.raises(ImageError) as refused:
        raw.preview((tmp_path / "IMG_0004.DNG").read_bytes(), max_pixels=100_000)
    assert refused.value.code == "too_many_pixels"
    assert refused.value.message == "The image is 600x400 pixels (240,000); the limit is 100,000 pixels."


def test_a_dng_that_crashes_libraw_fails_alone_and_the_run_goes_on(tmp_path, capsys):
    """Its preview declares 3000 x 3000 pixels and holds 256 x 192: LibRaw reads past the
    data and crashes the process it runs in, which is not the run's."""
    crafted = tmp_path / "crafted.DNG"
    write_dng(crafted, data.coffee(), preview=data.coffee()[:192, :256])
    with tifffile.TiffFile(crafted) as tif:
        sizes = {tag.code: (tag.valueoffset, tag.dtype) for tag in tif.pages[0].tags.values() if tag.code in (256, 257, 278)}
    patched = bytearray(crafted.read_bytes())
    for offset, dtype in sizes.values():  # width, height, rows per strip
        patched[offset:offset + (2 if dtype == 3 else 4)] = (3000).to_bytes(2 if dtype == 3 else 4, "little")
    crafted.write_bytes(patched)
    write_dng(tmp_path / "good.dng", data.coffee())
    assert cli.main(["tag", "--xmp", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "crafted.DNG: error corrupt_image" in err and "1 tagged, 0 skipped, 1 failed" in err
    assert ESPRESSO["en"] in as_list(exiftool(tmp_path / "good.dng.xmp")["good.dng.xmp"]["XMP-dc:Subject"])
