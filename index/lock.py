"""One indexer at a time per knowledge base: an OS file lock (flock) on KB/index.lock.

flock locks belong to an open file, so two processes, or two threads that each open the
file, exclude each other; the lock goes with the process, so a killed indexer never leaves
it held.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from ..ingest.errors import StoreError, store_problem

LOCK_NAME = "index.lock"


class IndexLock:
    def __init__(self, kb_dir: Path):
        self.kb_dir = kb_dir
        self._fd: int | None = None
        self.contended = False  # the last acquire found another process holding the lock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock; without ``blocking``, give up (False) if another holds it (then ``contended``)
        or the lock file can't be opened (a read-only knowledge base). Re-entrant."""
        self.contended = False
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.kb_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as error:
            if not blocking:
                return False  # a read-only knowledge base: search it, never write its index
            raise StoreError(store_problem(self.kb_dir, error)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.contended = True
            if not blocking:
                os.close(fd)
                return False
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the lock
            self._fd = None
