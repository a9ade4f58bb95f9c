"""Advisory file locks shared by the client, the runners and the tasks' slots.

``flock`` locks belong to an open file, so they work the same between threads of one runner and
between processes, and the kernel drops them when a process dies: a killed runner never leaves a
stale lock behind.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

if os.name == "nt":  # pragma: no cover - the local backend's nodes are Linux-like; kept importable
    import msvcrt

    def _lock(fd: int, blocking: bool) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

else:
    import fcntl

    def _lock(fd: int, blocking: bool) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            return True
        except BlockingIOError:
            return False


def try_lock(path: Path) -> int | None:
    """Take the lock at ``path`` without waiting; return its descriptor (close it to release) or None."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    if _lock(fd, blocking=False):
        return fd
    os.close(fd)
    return None


@contextmanager
def locked(path: Path):
    """Hold the lock at ``path`` for the ``with`` block, waiting for it if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _lock(fd, blocking=True)
        yield
    finally:
        os.close(fd)


def is_free(path: Path) -> bool:
    """True when nobody holds the lock at ``path`` (a momentary probe)."""
    fd = try_lock(path)
    if fd is None:
        return False
    os.close(fd)
    return True
