"""Django's folder cache, with the increments the limits count by made atomic across
the web processes and threads of one host (Django's own reads, adds one and writes
back, so attempts sent at the same moment were lost and got past a limit)."""

import fcntl
import os

from django.core.cache.backends.filebased import FileBasedCache


class FileCache(FileBasedCache):
    def _locked(self):
        os.makedirs(self._dir, exist_ok=True)
        lock = open(os.path.join(self._dir, "lock"), "a")
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        return lock

    def add(self, key, value, timeout=None, version=None):
        with self._locked():
            return super().add(key, value, timeout, version)

    def incr(self, key, delta=1, version=None):
        with self._locked():
            return super().incr(key, delta, version)
