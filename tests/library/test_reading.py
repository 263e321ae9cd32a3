"""A library's files are read whole, up to a limit, however their size changes meanwhile."""

from pyvision.library.reading import read_at_most


def test_a_file_up_to_the_limit_is_read_whole(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"x" * 100)
    with path.open("rb") as f:
        assert read_at_most(f, 100) == b"x" * 100


def test_a_file_over_the_limit_is_not_read(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"x" * 101)
    with path.open("rb") as f:
        assert read_at_most(f, 100) is None
        assert f.tell() == 0


class GrowingWhileRead:
    """An open file that someone appends to between its size being looked at and its reading."""

    def __init__(self, path, more: bytes):
        self._file, self._path, self._more = path.open("rb"), path, more

    def fileno(self):
        return self._file.fileno()

    def read(self, size):
        if self._more:
            with self._path.open("ab") as writer:
                writer.write(self._more)
            self._more = b""
        return self._file.read(size)


def test_a_file_that_grows_as_it_is_read_is_read_whole(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"x" * 10)
    assert read_at_most(GrowingWhileRead(path, b"y" * 50), 100) == b"x" * 10 + b"y" * 50


def test_a_file_that_grows_past_the_limit_as_it_is_read_is_refused(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"x" * 10)
    assert read_at_most(GrowingWhileRead(path, b"y" * 200), 100) is None
