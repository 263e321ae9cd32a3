"""The embedded mode's shared cache, where rate limits count: the threads of a web
process take turns to write, none of them left asleep in SQLite's busy handler."""

import threading
import time

import diskcache

from pyvision.cache import DiskCache

THREADS, COUNTS = 8, 50


def test_concurrent_requests_count_every_one_without_waiting_in_sqlite(tmp_path, monkeypatch):
    # Each thread has its own cache object, as Django gives each request thread. With no
    # time to wait for SQLite's lock and no retry, a write that finds another thread's
    # transaction open is dropped (diskcache reports it as not done) instead of sleeping.
    inside, most_inside = 0, 0
    counting = threading.Lock()
    increment = diskcache.FanoutCache.incr

    def slow_increment(self, *args, **kwargs):
        # Held a little longer, so that threads not taking turns surely meet.
        nonlocal inside, most_inside
        with counting:
            inside += 1
            most_inside = max(most_inside, inside)
        try:
            time.sleep(0.0005)
            return increment(self, *args, **kwargs)
        finally:
            with counting:
                inside -= 1

    monkeypatch.setattr(diskcache.FanoutCache, "incr", slow_increment)
    DiskCache(str(tmp_path), {}).add("requests", 0, timeout=None)
    start = threading.Barrier(THREADS)

    def count():
        cache = DiskCache(str(tmp_path), {"DATABASE_TIMEOUT": 0})
        start.wait()
        for _ in range(COUNTS):
            cache.incr("requests", retry=False)

    threads = [threading.Thread(target=count) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert DiskCache(str(tmp_path), {}).get("requests") == THREADS * COUNTS
    assert most_inside == 1
