"""SQLite's writers of every process on this machine take turns in a queue, foreground first.

SQLite lets one writer in at a time, and its busy handler polls in sleeps of up to 100 ms: a
process that writes back to back (the event worker) retakes the lock before a sleeping writer
(a web process acknowledging a webhook) wakes, and acknowledgements starve. Here threads queue
on a lock and processes on an flock() of a file beside the database, which wakes the next
waiter at once. A foreground writer also holds an "intent" lock while it waits, and background
work (event handling, delivery outcomes) lets it go first for at most BACKGROUND_YIELD.
Writers that take neither lock (a migration, the sqlite3 shell) still meet the busy timeout.
This is the only module that imports fcntl.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

BACKGROUND_YIELD = timedelta(milliseconds=50)


class SqliteWriterQueue:
    """Turns at writing one SQLite file, shared by the threads and processes that use it."""

    def __init__(self, database_path: str):
        self._paths = (f"{database_path}-intent.lock", f"{database_path}-writer.lock")
        self._thread_lock = threading.Lock()
        self._fds_pid: int | None = None  # a forked child opens its own descriptors
        self._fds: tuple[int, int] = (-1, -1)

    @contextmanager
    def turn(self, background: bool) -> Iterator[None]:
        """Hold the write turn for one transaction."""
        with self._thread_lock:
            intent, writer = self._descriptors()
            if background:
                _let_foreground_go_first(intent)
            else:
                fcntl.flock(intent, fcntl.LOCK_SH)  # "a foreground writer is waiting"
            fcntl.flock(writer, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(writer, fcntl.LOCK_UN)
                if not background:
                    fcntl.flock(intent, fcntl.LOCK_UN)

    def _descriptors(self) -> tuple[int, int]:
        """This process's own descriptors: flock() locks are shared across a fork."""
        pid = os.getpid()
        if self._fds_pid != pid:
            self._fds = tuple(os.open(path, os.O_RDWR | os.O_CREAT, 0o600) for path in self._paths)
            self._fds_pid = pid
        return self._fds


def writer_queue_for(database_path: str | None) -> SqliteWriterQueue | None:
    """The queue of a file-backed database; None for an in-memory or URI one."""
    if not database_path or database_path == ":memory:" or database_path.startswith("file:"):
        return None
    return SqliteWriterQueue(database_path)


def _let_foreground_go_first(intent_fd: int) -> None:
    """Wait while foreground writers hold the intent lock, never longer than BACKGROUND_YIELD,
    so that background work still moves under a steady stream of acknowledgements."""
    deadline = time.monotonic() + BACKGROUND_YIELD.total_seconds()
    while True:
        try:
            fcntl.flock(intent_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.002)
            continue
        fcntl.flock(intent_fd, fcntl.LOCK_UN)
        return
