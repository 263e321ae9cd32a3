"""`pyvision tag` reports: a row per photo (--json, --csv), a summary by error code."""

import csv
import json
import os
import stat

import pytest

from pyvision import cli
from tests.library.conftest import ESPRESSO


def test_json_and_csv_have_a_row_per_photo(library, tmp_path, capsys):
    (library / "empty.jpg").write_bytes(b"")
    table = tmp_path / "tags.csv"
    assert cli.main(["tag", "--json", "--csv", str(table), "--lang", "en,zh-hans", str(library)]) == 1
    out, err = capsys.readouterr()
    rows = {line["path"].rsplit("/", 1)[-1]: line for line in map(json.loads, out.splitlines())}
    assert rows["coffee.png"]["status"] == "tagged" and rows["coffee.png"]["predictions"][0]["wnid"] == "n07920052"
    assert rows["coffee.png"]["keywords"][:1] == [ESPRESSO["en"]] and ESPRESSO["zh-hans"] in rows["coffee.png"]["keywords"]
    assert rows["empty.jpg"]["status"] == "failed" and rows["empty.jpg"]["error"]["code"] == "empty_file"
    assert err.strip().endswith("2 tagged, 0 skipped, 1 failed (empty_file 1)")
    with table.open(encoding="utf-8") as f:
        by_name = {row["path"].rsplit("/", 1)[-1]: row for row in csv.DictReader(f)}
    assert by_name["coffee.png"]["labels"].startswith("espresso") and by_name["coffee.png"]["model"] == "lite0"
    assert by_name["empty.jpg"]["error"] == "empty_file" and by_name["chelsea.png"]["status"] == "tagged"
    assert not list(library.rglob("*.xmp"))  # without --xmp, the library is not written to


@pytest.mark.parametrize("arguments, message", [
    (["--min-score", "2"], "--min-score: 2 is not between 0 and 1"),
    (["--min-score", "nan"], "--min-score: nan is not between 0 and 1"),
    (["--top", "0"], "--top: 0 is not between 1 and 1000"),
    (["--jobs", "-3"], "--jobs: -3 is not between 0 and 256"),
    (["--threads", "100000"], "--threads: 100000 is not between 1 and 256"),
    (["--server", "http://127.0.0.1:9", "--top", "11"], "--top must be between 1 and 10 with --server"),
    (["--server", "http://127.0.0.1:9", "--model", "lite0-fp32"], "a server runs lite0, lite2"),
])
def test_what_cannot_be_done_is_refused_before_any_work_as_a_usage_error(library, arguments, message, capsys):
    with pytest.raises(SystemExit) as refused:
        cli.main(["tag", *arguments, str(library)])
    assert refused.value.code == 2 and message in capsys.readouterr().err


def test_a_csv_file_that_cannot_be_written_is_refused_before_any_work(library, tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        cli.main(["tag", "--csv", str(tmp_path / "no" / "such" / "folder.csv"), str(library)])
    assert refused.value.code == 2 and "No such file or directory" in capsys.readouterr().err


def test_a_csv_file_that_is_a_link_is_refused_and_what_it_points_to_kept(library, tmp_path, capsys):
    # In a folder others may write in, theirs would have this run overwrite its target.
    kept = tmp_path / "precious.txt"
    kept.write_text("mine", encoding="utf-8")
    (tmp_path / "tags.csv").symlink_to(kept)
    with pytest.raises(SystemExit) as refused:
        cli.main(["tag", "--csv", str(tmp_path / "tags.csv"), str(library)])
    assert refused.value.code == 2 and "a symbolic link" in capsys.readouterr().err
    assert kept.read_text(encoding="utf-8") == "mine"


def test_a_csv_file_that_is_a_fifo_is_refused_without_waiting_for_a_reader(library, tmp_path, capsys):
    os.mkfifo(tmp_path / "tags.csv")
    with pytest.raises(SystemExit) as refused:
        cli.main(["tag", "--csv", str(tmp_path / "tags.csv"), str(library)])
    # With no reader, opening it is refused at once (ENXIO); with one, it is no regular file.
    assert refused.value.code == 2 and "--csv" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another user")
def test_a_csv_file_someone_else_made_beforehand_is_refused_and_left_empty(library, tmp_path, capsys):
    # In /tmp, anyone may make the file a root's run will be told to write: they would read it.
    table = tmp_path / "tags.csv"
    table.touch()
    os.chown(table, 65534, 65534)
    with pytest.raises(SystemExit) as refused:
        cli.main(["tag", "--csv", str(table), str(library)])
    assert refused.value.code == 2 and "name a new file or one of yours" in capsys.readouterr().err
    assert table.read_bytes() == b""


def test_a_csv_file_with_another_name_is_refused_and_that_file_kept(library, tmp_path, capsys):
    # Someone may hard-link a file the runner may write (as root: any, where the kernel
    # lets them link it) in the folder the table is written to.
    kept = tmp_path / "precious.txt"
    kept.write_text("mine", encoding="utf-8")
    os.link(kept, tmp_path / "tags.csv")
    with pytest.raises(SystemExit) as refused:
        cli.main(["tag", "--csv", str(tmp_path / "tags.csv"), str(library)])
    assert refused.value.code == 2 and "hard link" in capsys.readouterr().err
    assert kept.read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("existing", [False, True])
def test_the_csv_file_is_private(library, tmp_path, existing):
    # It lists what each photo shows, private photos too.
    table = tmp_path / "tags.csv"
    if existing:
        table.write_text("path,status,model,wnids\r\nan earlier run's,tagged,lite0,\r\n", encoding="utf-8")
        table.chmod(0o644)
    assert cli.main(["tag", "--csv", str(table), str(library)]) == 0
    assert stat.S_IMODE(table.stat().st_mode) == 0o600
    assert "an earlier run's" not in table.read_text(encoding="utf-8")


def test_a_photo_named_as_the_csv_file_is_refused_and_kept(library, capsys):
    # `pyvision tag --xmp --csv DIR/*.png`: the shell makes the first photo the table.
    photo = library / "coffee.png"
    original = photo.read_bytes()
    with pytest.raises(SystemExit) as refused:
        cli.main(["tag", "--xmp", "--csv", str(photo), str(library / "2024" / "chelsea.png")])
    assert refused.value.code == 2
    assert capsys.readouterr().err == (f"pyvision tag: --csv {photo}: a file that holds something other than a table "
                                       "of pyvision's: name a new file (e.g. --csv tags.csv)\n")
    assert photo.read_bytes() == original
    assert not list(library.rglob("*.xmp"))  # refused before any photo was tagged


def test_an_empty_csv_file_is_written(library, tmp_path):
    table = tmp_path / "tags.csv"
    table.touch()
    assert cli.main(["tag", "--csv", str(table), str(library)]) == 0
    assert table.read_text(encoding="utf-8").startswith("path,status,model,")


def test_a_file_name_cannot_drive_the_terminal_or_the_spreadsheet(library, tmp_path, capsys):
    (library / "coffee.png").rename(library / "=HYPERLINK(1)\x1b]0;title\x07.png")
    table = tmp_path / "tags.csv"
    assert cli.main(["tag", "--csv", str(table), str(library)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "=HYPERLINK(1)\\x1b]0;title\\x07.png: espresso" in out
    with table.open(encoding="utf-8") as f:
        paths = [row["path"] for row in csv.DictReader(f)]
    assert all(not path.startswith("=") for path in paths)


def test_a_dry_run_says_what_it_would_tag(library, capsys):
    assert cli.main(["tag", "--xmp", "--dry-run", "--json", str(library)]) == 0
    out, err = capsys.readouterr()
    assert {json.loads(line)["status"] for line in out.splitlines()} == {"would_tag"}
    assert err.strip() == "2 would be tagged, 0 skipped, 0 failed"


def test_an_unknown_language_is_refused(library, capsys):
    with pytest.raises(SystemExit):
        cli.main(["tag", "--lang", "en,klingon", str(library)])
    assert "choose among en, zh-hans" in capsys.readouterr().err


def test_a_file_larger_than_any_photo_fails_alone_unread(library, capsys):
    with (library / "huge.jpg").open("wb") as f:
        f.truncate(8 * 2**30)  # sparse: nothing is written, and nothing may be read
    assert cli.main(["tag", str(library)]) == 1
    assert "huge.jpg: error file_too_large" in capsys.readouterr().err


def test_error_lines_cannot_drive_the_terminal_either(library, capsys):
    photo = library / "E\x1b]0;X\x07.png"
    (library / "coffee.png").rename(photo)
    (library / (photo.name + ".xmp")).symlink_to(library / "elsewhere.xmp")
    assert cli.main(["tag", "--xmp", str(photo)]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "E\\x1b]0;X\\x07.png.xmp is a symbolic link" in err


def test_a_file_name_that_is_not_utf8_is_written_to_the_csv_as_it_is(library, tmp_path, capsys):
    (library / "coffee.png").rename(library / os.fsdecode(b"caf\xe9.png"))
    table = tmp_path / "tags.csv"
    assert cli.main(["tag", "--csv", str(table), str(library)]) == 0
    assert os.fsencode(library) + b"/caf\xe9.png," in table.read_bytes()


@pytest.mark.parametrize("buffering", [1, -1], ids=["as-a-row-is-written", "as-it-is-closed"])
def test_a_csv_file_on_a_full_disk_stops_the_run_with_a_message(library, tmp_path, capsys, monkeypatch, buffering):
    table = tmp_path / "tags.csv"
    # /dev/full: every write that reaches it fails with ENOSPC, as on a full disk.
    monkeypatch.setattr(cli, "open_table", lambda path: open("/dev/full", "w", buffering=buffering, encoding="utf-8"))
    assert cli.main(["tag", "--csv", str(table), str(library)]) == 1
    so_far = "0 tagged" if buffering == 1 else "2 tagged"
    assert capsys.readouterr().err.splitlines()[-1] == (f"pyvision tag: --csv {table} could not be written: "
                                                        f"No space left on device; so far {so_far}, 0 skipped, 0 failed")
