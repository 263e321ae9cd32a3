"""Camera RAW files are tagged through the preview embedded in them (rawpy, the
optional extra pyvision[raw])."""

import numpy as np
import pytest
import tifffile
from skimage import data

from pyvision import cli
from tests.library.conftest import ESPRESSO, as_list, exiftool

rawpy = pytest.importorskip("rawpy", reason="RAW files need the optional extra: pip install 'pyvision[raw]'")


def write_dng(path, picture: np.ndarray) -> None:
    """A DNG laid out as cameras and Adobe's converter write them: IFD 0 the developed
    preview, a sub-IFD the Bayer sensor data (here made from the same picture)."""
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
        tif.write(picture, photometric="rgb", subfiletype=1, subifds=1, extratags=dng)
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
