"""A library's files are read whole, up to a limit, however their size changes meanwhile,
and only as many at once as fit in a budget; what only looks like a photo is refused
without waiting on it."""

import os
import threading
from pathlib import Path

from pyvision.engine.errors import ImageError
from pyvision.engine.memory import MemoryBudget
from pyvision.library import photos
from pyvision.library.reading import read_at_most


def test_a_file_up_to_the_limit_is_read_whole(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"x" * 100)
    with path.open("rb") as f:
        assert read_at_most(f, os.fstat(f.fileno()).st_size, 100) == b"x" * 100


def test_a_file_over_the_limit_is_not_read(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"x" * 101)
    with path.open("rb") as f:
        assert read_at_most(f, os.fstat(f.fileno()).st_size, 100) is None
        assert f.tell() == 0


class GrowingWhileRead:
    """An open file that someone appends to between its size being looked at and its reading."""

    def __init__(self, path, more: bytes):
        self._file, self._path, self._more = path.open("rb"), path, more

    def read(self, size):
        if self._more:
            with self._path.open("ab") as writer:
                writer.write(self._more)
            self._more = b""
        return self._file.read(size)


def test_a_file_that_grows_as_it_is_read_is_read_whole(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"x" * 10)
    assert read_at_most(GrowingWhileRead(path, b"y" * 50), 10, 100) == b"x" * 10 + b"y" * 50


def test_a_file_that_grows_past_the_limit_as_it_is_read_is_refused(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"x" * 10)
    assert read_at_most(GrowingWhileRead(path, b"y" * 200), 10, 100) is None


def read_within_seconds(path: Path, seconds: float = 10, found=None):
    """What contents() raises or gives, failing the test if it hangs."""
    outcome = {}

    def attempt():
        try:
            with photos.contents(path, found) as data:
                outcome["data"] = data
        except Exception as exc:  # noqa: BLE001 - the test looks at what it is
            outcome["error"] = exc

    reader = threading.Thread(target=attempt, daemon=True)
    reader.start()
    reader.join(seconds)
    assert not reader.is_alive(), f"reading {path} hung"
    return outcome


def test_a_fifo_in_a_photos_place_is_refused_without_waiting_for_a_writer(tmp_path):
    # It was a photo when the folder was walked; someone put a FIFO there since.
    fifo = tmp_path / "IMG_1.jpg"
    os.mkfifo(fifo)
    error = read_within_seconds(fifo)["error"]
    assert isinstance(error, ImageError) and error.code == "unreadable_file"


def test_a_file_that_says_it_is_empty_is_not_read(tmp_path):
    # /proc's files say they are empty, and reading /proc/kmsg waits for the kernel's next
    # message (as root; others may not open it at all).
    kmsg = tmp_path / "IMG_1.jpg"
    kmsg.symlink_to("/proc/kmsg")
    error = read_within_seconds(kmsg)["error"]
    assert (isinstance(error, ImageError) and error.code == "empty_file") or isinstance(error, PermissionError)


def test_photos_that_would_pass_the_budget_together_are_read_in_turn(tmp_path, monkeypatch):
    # Each --jobs thread may read a photo of up to 512 MB: together they wait for each other.
    monkeypatch.setattr(photos, "reading", MemoryBudget(150))
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(b"x" * 100)
    holding, let_go, second = threading.Event(), threading.Event(), {}

    def first_reader():
        with photos.contents(tmp_path / "a.jpg"):
            holding.set()
            let_go.wait(10)

    def second_reader():
        with photos.contents(tmp_path / "b.jpg") as data:
            second["data"], second["first_done"] = data, let_go.is_set()

    threads = [threading.Thread(target=first_reader), threading.Thread(target=second_reader)]
    threads[0].start()
    assert holding.wait(10)
    threads[1].start()
    threads[1].join(0.5)
    assert "data" not in second, "read while the first photo still held the budget"
    let_go.set()
    for thread in threads:
        thread.join(10)
    assert second == {"data": b"x" * 100, "first_done": True}


def test_a_photo_that_grows_as_it_is_read_is_refused_not_read_past_its_reservation(tmp_path, monkeypatch):
    # Its owner could grow a 1-byte photo to 512 MB while its turn comes, against a
    # reservation of 1 byte: each --jobs thread would hold that much again.
    path = tmp_path / "a.jpg"
    path.write_bytes(b"x")
    really_reserve = photos.reading.reserve

    def reserve_then_grow(nbytes):
        with path.open("ab") as writer:
            writer.write(b"y" * 1000)
        return really_reserve(nbytes)

    monkeypatch.setattr(photos.reading, "reserve", reserve_then_grow)
    error = read_within_seconds(path)["error"]
    assert isinstance(error, ImageError) and error.code == "unreadable_file" and "grew" in error.message


def test_a_photo_that_is_not_the_file_the_walk_found_is_not_read(tmp_path):
    # Swapped since the walk, it could be a link to the runner's private photo.
    path = tmp_path / "a.jpg"
    path.write_bytes(b"x")
    error = read_within_seconds(path, found=photos.Found(status=os.stat(tmp_path), folder=(0, 0)))["error"]
    assert isinstance(error, ImageError) and "replaced since its folder was walked" in error.message
