"""The one way kiosk modules talk to ``kiosk.db``: a locked connection, short write transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def tighten_state_file(path: Path) -> None:
    """Make ``path`` (just opened by SQLite) 0600 in a 0700 folder, with its -wal/-shm.

    The database holds password hashes and customers' (masked) words: no other
    user on the machine may read it. SQLite gives -wal/-shm the main file's mode.
    """
    if path.parent.is_dir():
        os.chmod(path.parent, 0o700)
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if name.exists():
            os.chmod(name, 0o600)


class LockedSqlite:
    """A thread-safe SQLite connection in autocommit mode.

    Subclasses call :meth:`_connect` and write through :meth:`_tx`
    (``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error).
    """

    _db: sqlite3.Connection
    _lock: threading.Lock

    def _connect(self, path: Path) -> None:
        """Open ``path`` for use from several threads.

        Raises:
            sqlite3.Error: the file cannot be opened.
        """
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        tighten_state_file(path)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
