"""The embedded mode's shared cache, where rate limits count: the threads of a web
process take turns to write, none of them left asleep in SQLite's busy handler."""

import threading

from pyvision.cache import DiskCache

THREADS, COUNTS = 8, 50


def test_concurrent_requests_count_every_one_without_waiting_in_sqlite(tmp_path):
    # With no time to wait for SQLite's lock and no retry, a write that finds another
    # thread's transaction open is dropped (diskcache reports it as not done) instead of
    # sleeping: every count arrives only if the threads never meet inside SQLite.
    cache = DiskCache(str(tmp_path), {"DATABASE_TIMEOUT": 0})
    cache.add("requests", 0, timeout=60)
    start = threading.Barrier(THREADS)

    def count():
        start.wait()
        for _ in range(COUNTS):
            cache.incr("requests", retry=False)

    threads = [threading.Thread(target=count) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert cache.get("requests") == THREADS * COUNTS
