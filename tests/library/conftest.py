"""A small photo library in a temporary folder, and exiftool to read what was written,
as photo managers would."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SKIMAGE_DATA

ESPRESSO = {"en": "espresso", "zh-hans": "意大利浓咖啡"}
CATS = {"tabby", "tiger cat", "Egyptian cat"}  # chelsea.png is one of them


@pytest.fixture
def library(tmp_path) -> Path:
    """coffee.png and chelsea.png, one in a sub-folder."""
    folder = tmp_path / "photos"
    (folder / "2024").mkdir(parents=True)
    shutil.copy(SKIMAGE_DATA / "coffee.png", folder / "coffee.png")
    shutil.copy(SKIMAGE_DATA / "chelsea.png", folder / "2024" / "chelsea.png")
    return folder


def exiftool(*paths: Path) -> dict[str, dict]:
    """What exiftool reads from each file, by file name: {tag: value}; lists stay lists."""
    if not shutil.which("exiftool"):
        pytest.fail("exiftool is missing: it is in tools/system-packages.txt (Debian libimage-exiftool-perl)")
    out = subprocess.run(["exiftool", "-j", "-G1", "-a", "-struct", *map(str, paths)],
                         capture_output=True, text=True, check=True).stdout
    return {Path(entry["SourceFile"]).name: entry for entry in json.loads(out)}


def as_list(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]
