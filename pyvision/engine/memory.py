"""A process-wide budget for the memory that decoding takes.

A 600 kB PNG can decode to 200 MB of pixels. Each decode reserves what it will take
(estimated from the header) before it starts: decodes that would together pass the
budget wait for each other, in turn, instead of adding up.
"""

import ctypes
import ctypes.util
import threading
from collections import deque
from contextlib import contextmanager
from functools import cache

DEFAULT_LIMIT_BYTES = 256 * 1024 * 1024
# glibc's mallopt parameter, and the size from which a block gets pages of its own.
M_MMAP_THRESHOLD = -3
OWN_PAGES_FROM_BYTES = 1024 * 1024


class MemoryBudget:
    def __init__(self, limit_bytes: int = DEFAULT_LIMIT_BYTES):
        self.limit = limit_bytes
        self._reserved = 0
        self._turns: deque[object] = deque()
        self._changed = threading.Condition()

    @contextmanager
    def reserve(self, nbytes: int):
        """Wait until ``nbytes`` fit in the budget, hold them for the ``with`` block.

        Served in order of arrival, so a large decode is not starved by a stream of
        small ones; one larger than the whole budget runs alone.
        """
        nbytes = min(nbytes, self.limit)
        turn = object()
        with self._changed:
            self._turns.append(turn)
            self._changed.wait_for(lambda: self._turns[0] is turn and self._reserved + nbytes <= self.limit)
            self._turns.popleft()
            self._reserved += nbytes
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._reserved -= nbytes
                self._changed.notify_all()


decoding = MemoryBudget()


@cache
def _libc():
    """Found once: finding it takes a millisecond, and every large decode asks for it."""
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def give_back_freed_heap() -> None:
    """Hand the free memory of every thread's heap back to the system (glibc; elsewhere
    nothing). libvips works in many small blocks, below the size that gets pages of its
    own: after each large image a decoding thread kept about 50 MB of them, and a
    progressive JPEG decoded next came on top (a worker at 430 MB instead of 361)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def give_back_freed_pixels() -> None:
    """Make glibc hand large freed blocks (Pillow's 16 MB blocks of pixels) back to the
    system at once. By default it raises its threshold after the first such free and
    keeps later ones in each thread's heap: two threads that decoded a large image
    each then hold both images' memory for good (measured: 560 MB instead of 400)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(M_MMAP_THRESHOLD, OWN_PAGES_FROM_BYTES)
