"""Reading a library's files, whose sizes are not to be trusted."""

import os
from typing import BinaryIO


def identity(info: os.stat_result) -> tuple[int, int]:
    """A file's (device, inode): the same file whatever its path leads to meanwhile."""
    return info.st_dev, info.st_ino


def read_at_most(file: BinaryIO, expected: int, limit: int) -> bytes | None:
    """All of an open file that its status said holds ``expected`` bytes, or None if it
    holds more than ``limit``.

    Asks for what the file said it holds, plus a byte to see whether it grew since:
    ``read(limit + 1)`` would have Python allocate the whole limit before reading.
    """
    if expected > limit:
        return None
    data = file.read(expected + 1)
    if len(data) > expected:
        data += file.read(limit + 1 - len(data))
    return data if len(data) <= limit else None
