"""`pyvision tag --xmp` carries on where it stopped: photos whose sidecar already has
this model's keywords for the file as it is are skipped, without being read."""

import os
import shutil
import signal
import subprocess
import sys
import time

from pyvision import cli
from pyvision.library import xmp
from tests.conftest import SKIMAGE_DATA


def sidecar_times(folder):
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*.xmp")}


def test_a_second_run_skips_every_photo_and_writes_nothing(library, capsys):
    assert cli.main(["tag", "--xmp", str(library)]) == 0
    written = sidecar_times(library)
    assert len(written) == 2
    capsys.readouterr()
    assert cli.main(["tag", "--xmp", str(library)]) == 0
    assert capsys.readouterr().err.strip().endswith("0 tagged, 2 skipped, 0 failed")
    assert sidecar_times(library) == written


def test_photos_sharing_a_lightroom_sidecar_tag_it_once_then_both_are_skipped(tmp_path, capsys):
    # IMG_1.jpg and IMG_1.png both name IMG_1.xmp: each run re-tagged one over the other.
    shutil.copy(SKIMAGE_DATA / "chelsea.png", tmp_path / "IMG_1.jpg")
    shutil.copy(SKIMAGE_DATA / "coffee.png", tmp_path / "IMG_1.png")
    assert cli.main(["tag", "--xmp", "--sidecar-name", "basename", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "IMG_1.png: skipped: its sidecar IMG_1.xmp is IMG_1.jpg's" in err and "1 tagged, 1 skipped" in err
    written = sidecar_times(tmp_path)
    assert list(written) == [tmp_path / "IMG_1.xmp"] and "espresso" not in (tmp_path / "IMG_1.xmp").read_text()
    assert cli.main(["tag", "--xmp", "--sidecar-name", "basename", str(tmp_path)]) == 0
    assert capsys.readouterr().err.strip().endswith("0 tagged, 2 skipped, 0 failed")
    assert sidecar_times(tmp_path) == written


def test_a_photo_tagged_alone_leaves_the_sidecar_it_shares_to_the_photo_beside_it(tmp_path, capsys):
    # Lightroom's IMG_1.xmp is IMG_1.jpg's: so it stays when IMG_1.png is tagged by itself.
    shutil.copy(SKIMAGE_DATA / "chelsea.png", tmp_path / "IMG_1.jpg")
    shutil.copy(SKIMAGE_DATA / "coffee.png", tmp_path / "IMG_1.png")
    assert cli.main(["tag", "--xmp", "--sidecar-name", "basename", str(tmp_path / "IMG_1.png")]) == 0
    assert "IMG_1.png: skipped: its sidecar IMG_1.xmp is IMG_1.jpg's" in capsys.readouterr().err
    assert not (tmp_path / "IMG_1.xmp").exists()
    assert cli.main(["tag", "--xmp", "--sidecar-name", "basename", str(tmp_path / "IMG_1.jpg")]) == 0
    assert "1 tagged" in capsys.readouterr().err and "espresso" not in (tmp_path / "IMG_1.xmp").read_text()


def test_a_changed_photo_another_model_or_force_tag_again(library, capsys):
    assert cli.main(["tag", "--xmp", str(library)]) == 0
    shutil.copy(SKIMAGE_DATA / "rocket.jpg", library / "coffee.png")  # same name, another picture
    capsys.readouterr()
    assert cli.main(["tag", "--xmp", str(library)]) == 0
    assert "1 tagged, 1 skipped" in capsys.readouterr().err
    assert "espresso" not in (library / "coffee.png.xmp").read_text(encoding="utf-8")
    assert cli.main(["tag", "--xmp", "--model", "lite2", str(library)]) == 0
    assert "2 tagged, 0 skipped" in capsys.readouterr().err
    assert cli.main(["tag", "--xmp", "--model", "lite2", "--force", str(library)]) == 0
    assert "2 tagged, 0 skipped" in capsys.readouterr().err


def test_a_dry_run_writes_nothing(library, capsys):
    assert cli.main(["tag", "--xmp", "--dry-run", str(library)]) == 0
    out, err = capsys.readouterr()
    assert "coffee.png: espresso" in out and "2 would be tagged" in err
    assert not list(library.rglob("*.xmp"))


def test_ctrl_c_leaves_whole_sidecars_and_the_next_run_carries_on(tmp_path):
    for i in range(150):
        shutil.copy(SKIMAGE_DATA / ("coffee.png" if i % 2 else "chelsea.png"), tmp_path / f"IMG_{i:03}.png")
    # --jobs 1 and one onnxruntime thread: slow enough to be interrupted half-way.
    command = [sys.executable, "-m", "pyvision", "tag", "--xmp", "--jobs", "1", "--threads", "1", str(tmp_path)]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("*.xmp")) and time.monotonic() < deadline:
        time.sleep(0.01)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "interrupted" in err
    done = list(tmp_path.glob("*.xmp"))
    assert 0 < len(done) < 150
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    for sidecar in done:
        assert xmp.read_stamp(sidecar) is not None
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0
    assert finished.stderr.strip().endswith(f"{150 - len(done)} tagged, {len(done)} skipped, 0 failed")
