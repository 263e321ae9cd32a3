"""`pyvision tag --server`: the photos go to a running `pyvision run`'s
POST /api/v1/classify, and come back with the keywords the engine gives here."""

import shutil

import pytest
from skimage import data

from pyvision import cli
from tests.conftest import SKIMAGE_DATA
from tests.library.conftest import as_list, exiftool
from tests.library.test_raw import write_dng
from tests.live_service import LiveService

# Low enough that a run of 40 photos (three requests of up to 16) is refused at least
# once with 429 and Retry-After, and has to wait it out.
RATE = "16/sec"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    folder = tmp_path_factory.mktemp("service")
    live = LiveService(folder / "data", PYVISION_RATE_ANON=RATE)
    yield live
    live.stop()


def keywords(folder) -> dict[str, tuple]:
    read = exiftool(*sorted(folder.rglob("*.xmp")))
    return {name: (sorted(as_list(tags.get("XMP-dc:Subject"))), sorted(as_list(tags.get("XMP-lr:HierarchicalSubject"))))
            for name, tags in read.items()}


def test_the_server_gives_the_same_keywords_as_the_engine_here(service, library, tmp_path, capsys):
    write_dng(library / "IMG_0002.DNG", data.chelsea())
    (library / "empty.jpg").write_bytes(b"")
    remote = tmp_path / "remote"
    shutil.copytree(library, remote)
    arguments = ["tag", "--xmp", "--lang", "en,zh-hans", "--top", "5", "--min-score", "0.05", "--model", "lite2"]
    assert cli.main([*arguments, str(library)]) == 1
    local_summary = capsys.readouterr().err.strip().splitlines()[-1]
    assert cli.main([*arguments, "--server", service.url, str(remote)]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == local_summary == "3 tagged, 0 skipped, 1 failed (empty_file 1)"
    local = keywords(library)
    assert set(local) == {"coffee.png.xmp", "chelsea.png.xmp", "IMG_0002.DNG.xmp"}
    assert keywords(remote) == local


def test_a_busy_server_is_waited_out(service, tmp_path, capsys):
    for i in range(40):
        shutil.copy(SKIMAGE_DATA / "coffee.png", tmp_path / f"IMG_{i:02}.png")
    assert cli.main(["tag", "--xmp", "--server", service.url, str(tmp_path)]) == 0
    assert capsys.readouterr().err.strip().endswith("40 tagged, 0 skipped, 0 failed")
    log = (service.data_dir.parent / f"{service.data_dir.name}.log").read_text(errors="replace")
    assert " POST /api/v1/classify 429 " in log  # pyvision.webserver's access log


def test_a_wrong_token_stops_the_run_at_once(service, library):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["tag", "--server", service.url, "--token", "not-a-token", str(library)])
    assert "401" in str(stopped.value)
