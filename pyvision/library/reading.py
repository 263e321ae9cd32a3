"""Reading a library's files, whose sizes are not to be trusted."""

import os
from typing import BinaryIO


def read_at_most(file: BinaryIO, limit: int) -> bytes | None:
    """All of an open file, or None if it holds more than ``limit`` bytes.

    Asks for what the file says it holds, plus a byte to see whether it grew since:
    ``read(limit + 1)`` would have Python allocate the whole limit before reading.
    """
    expected = os.fstat(file.fileno()).st_size
    if expected > limit:
        return None
    data = file.read(expected + 1)
    if len(data) > expected:
        data += file.read(limit + 1 - len(data))
    return data if len(data) <= limit else None
