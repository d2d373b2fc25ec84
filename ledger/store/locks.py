"""OS file locks next to the run store: one writer per run, one migrator per store.

A lock is an exclusive ``flock`` on a small file in ``<db file>.locks/`` (for a SQLite
file; other URLs use ``data/locks/<hash of the URL>/``). The kernel drops it when the
holder dies, SIGKILL included, so a crashed run never stays locked, which a lock row in the
database could not promise without leases and clocks.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url


def lock_dir(url: str) -> Path:
    """Where the store at `url` keeps its lock files (created on first use)."""
    from ledger.store.database import DATA_DIR

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        d = Path(parsed.database).resolve().with_name(Path(parsed.database).name + ".locks")
    else:
        d = DATA_DIR / "locks" / hashlib.sha256(url.encode()).hexdigest()[:16]
    d.mkdir(parents=True, exist_ok=True)
    return d


class FileLock:
    """An exclusive lock on `path`; the holder's pid is written into the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, *, wait: bool = False) -> bool:
        """Take the lock; without `wait`, False when another process holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        """The pid written by the current holder ('' if unknown)."""
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def run_lock(url: str, run_id: int) -> FileLock:
    """The lock a process holds while it writes run `run_id` of the store at `url`."""
    return FileLock(lock_dir(url) / f"run-{int(run_id)}.lock")


@contextlib.contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """Serialize schema migrations of one store across processes."""
    lock = FileLock(lock_dir(url) / "migrate.lock")
    lock.acquire(wait=True)
    try:
        yield
    finally:
        lock.release()
