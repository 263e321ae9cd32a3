"""`pyvision tag --server`: the photos go to a running `pyvision run`'s
POST /api/v1/classify, and come back with the keywords the engine gives here."""

import json
import shutil
import subprocess
import sys

import pytest
from skimage import data

from pyvision import cli
from tests.colour_model import photo, write_model
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


@pytest.mark.django_db
def test_a_custom_model_on_the_server_gives_the_same_keywords_as_here(service, tmp_path, capsys, media):
    onnx_file, labels = write_model(tmp_path)
    # "blue" has no Chinese name on either side: English, once.
    labels.write_text("id,en,zh-hans\nred,red,红色\ngreen,green,绿色\nblue,blue,\n", encoding="utf-8")
    add = ["models", "add", "colours", "--onnx", str(onnx_file), "--labels", str(labels), "--size", "32"]
    subprocess.run([sys.executable, "-m", "pyvision", *add], env=service.environment, check=True, capture_output=True)
    assert cli.main(add) == 0  # the same model in this machine's own database, for the local run
    local, remote = tmp_path / "local", tmp_path / "remote"
    for folder in (local, remote):
        folder.mkdir()
        for colour in ("red", "green", "blue"):
            (folder / f"{colour}.jpg").write_bytes(photo(colour))
    arguments = ["tag", "--xmp", "--json", "--hedged", "--lang", "en,zh-hans", "--top", "2", "--min-score", "0",
                 "--model", "colours"]
    capsys.readouterr()
    assert cli.main([*arguments, str(local)]) == 0
    assert cli.main([*arguments, "--server", service.url, str(remote)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {row["path"].rsplit("/", 1)[-1]: row["predictions"][0]["wnid"] for row in rows} == {
        "red.jpg": "red", "green.jpg": "green", "blue.jpg": "blue"}
    assert [row["hedged"] for row in rows] == [None] * 6
    assert keywords(remote) == keywords(local)
    assert keywords(local)["red.jpg.xmp"][0][-2:] == ["red", "红色"]
    assert "pyvision|colours|red" in keywords(local)["red.jpg.xmp"][1]
    assert keywords(local)["blue.jpg.xmp"][0].count("blue") == 1

    # Sidecars from the server's model are up to date for it, not for another.
    assert cli.main([*arguments, "--server", service.url, str(remote)]) == 0
    assert capsys.readouterr().err.strip().endswith("0 tagged, 3 skipped, 0 failed")


def test_the_server_gives_the_same_hedged_answers_as_the_engine_here(service, library, tmp_path, capsys):
    remote = tmp_path / "remote"
    shutil.copytree(library, remote)
    arguments = ["tag", "--xmp", "--json", "--hedged", "--lang", "en,zh-hans", "--model", "lite0"]
    capsys.readouterr()
    assert cli.main([*arguments, str(library)]) == 0
    assert cli.main([*arguments, "--server", service.url, str(remote)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    hedged = {}
    for row in rows:
        hedged.setdefault(row["path"].rsplit("/", 1)[-1], []).append((row["hedged"]["wnid"], row["keywords"]))
    assert all(local == remote for local, remote in hedged.values()) and len(hedged) == 2
    assert keywords(remote) == keywords(library)


def test_a_model_the_server_does_not_have_stops_the_run_at_once(service, library):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["tag", "--server", service.url, "--model", "no-such-model", str(library)])
    assert f"{service.url} has no model named 'no-such-model'; it has lite0, lite2" in str(stopped.value)


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
