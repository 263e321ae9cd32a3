"""`pyvision backup` while the embedded service runs, `pyvision restore` into a new data
folder: the photos, their results and their owners' sessions come back."""

import os
import subprocess
import sys

from tests.live_service import LiveService


def pyvision(data_dir, *arguments, **environment) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyvision", *arguments], capture_output=True, text=True,
                          env={**os.environ, "PYVISION_DATA_DIR": str(data_dir), **environment}, timeout=120)


def test_a_backup_taken_while_serving_restores_every_photo_and_result(tmp_path, photo):
    first = LiveService(tmp_path / "first")
    try:
        ids = [first.upload("coffee.png", photo("coffee.png")), first.upload("chelsea.png", photo("chelsea.png"))]
        assert set(first.wait_finished(ids).values()) == {"done"}
        cards = {i: first.card(i) for i in ids}
        done = pyvision(first.data_dir, "backup", str(tmp_path / "photos.tar"))
        assert done.returncode == 0, done.stderr
        assert "the database and 4 files" in done.stdout  # two originals and the thumbnails the worker made
    finally:
        assert first.stop() == 0

    done = pyvision(tmp_path / "second", "restore", str(tmp_path / "photos.tar"))
    assert done.returncode == 0, done.stderr
    second = LiveService(tmp_path / "second")
    try:
        second.http.cookies.update(first.http.cookies)  # the same browser
        assert {i: second.card(i) for i in ids} == cards
        assert second.original(ids[0]).content == photo("coffee.png")
    finally:
        assert second.stop() == 0


def test_restore_refuses_a_folder_in_use_and_a_file_that_is_no_backup(tmp_path):
    (tmp_path / "in-use").mkdir()
    (tmp_path / "in-use" / "pyvision.sqlite3").write_bytes(b"")
    done = pyvision(tmp_path / "in-use", "restore", str(tmp_path / "any.tar"))
    assert done.returncode == 1 and "exists: restore into an empty PYVISION_DATA_DIR" in done.stderr
    (tmp_path / "notes.tar").write_text("not a tar archive")
    done = pyvision(tmp_path / "empty", "restore", str(tmp_path / "notes.tar"))
    assert done.returncode == 1 and "cannot be read" in done.stderr


def test_the_distributed_mode_is_pointed_to_its_own_tools(tmp_path):
    done = pyvision(tmp_path, "backup", str(tmp_path / "x.tar"), DATABASE_URL="postgres://pyvision@db.internal/pyvision")
    assert done.returncode == 1 and "back it up with its own tools (pg_dump" in done.stderr
    done = pyvision(tmp_path, "backup", str(tmp_path / "x.tar"))
    assert done.returncode == 1 and "nothing to back up" in done.stderr
