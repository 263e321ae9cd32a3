"""Django's SQLite backend, with the threads of one process taking turns to write.

SQLite lets one writer at a time; a second waits in SQLite's busy handler, which sleeps
1, 2, 5, 10 ... up to 100 ms between tries. With a web process's eight threads writing,
those sleeps left the cores idle and made one upload in twenty wait half a second. Here
the threads of a process queue on a lock, each woken as soon as the one before commits;
SQLite's own wait remains only between processes (the web process and the worker).
"""

import threading

from django.db.backends.sqlite3 import base

_writing = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_turn = False

    def _start_transaction_under_autocommit(self):
        _writing.acquire()
        self._holds_write_turn = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._end_write_turn()
            raise

    def _commit(self):
        return self._ending_write_turn(super()._commit)

    def _rollback(self):
        return self._ending_write_turn(super()._rollback)

    def _close(self):
        return self._ending_write_turn(super()._close)

    def _ending_write_turn(self, end):
        try:
            return end()
        finally:
            self._end_write_turn()

    def _end_write_turn(self):
        if self._holds_write_turn:
            self._holds_write_turn = False
            _writing.release()
