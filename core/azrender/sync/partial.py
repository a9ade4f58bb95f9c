"""Partial files: a transfer writes ``dest`` under a temporary name beside it and renames it once
complete and verified, so an interrupted transfer never leaves a file that looks complete."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PARTIAL_PREFIX = ".azrender-partial-"


def partial_path(dest: Path) -> Path:
    """A unique temporary name beside ``dest``: written first, renamed onto ``dest`` once complete
    and verified, so an interrupted transfer never leaves a file that looks complete."""
    import uuid

    unique = f"{PARTIAL_PREFIX}{uuid.uuid4().hex[:12]}"
    name = f"{unique}-{dest.name}"
    # the destination's name only helps a human; a name near the 255-byte limit must still fit
    return dest.with_name(name if len(os.fsencode(name)) <= 255 else unique)


try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
ORPHAN_AGE = 3600.0  # seconds: without locks (Windows), a partial file unchanged this long is a killed run's


def _open_locked_partial(dest: Path):
    """A new partial file for ``dest``, open for writing and (POSIX) locked, with its path."""
    from azrender.dirs import for_user

    while True:
        tmp = partial_path(dest)
        out = open(tmp, "wb")
        # A download is the user's file; a partial file in azrender's folders stays private. By its
        # descriptor: a sweeper may remove the name before the lock below.
        for_user(tmp, fd=out.fileno())
        if not fcntl:
            return tmp, out
        fcntl.flock(out.fileno(), fcntl.LOCK_EX)
        try:
            if os.path.samestat(os.fstat(out.fileno()), os.stat(tmp)):
                return tmp, out
        except FileNotFoundError:
            pass
        out.close()  # a sweeper took it for orphaned between its creation and our lock: another name


@contextlib.contextmanager
def writing_partial(dest: Path, *, mtime_ns: int | None = None):
    """Write ``dest`` through a partial file: yields the open file; when the block ends cleanly the
    file gets ``mtime_ns`` (if given) and is renamed onto ``dest``, otherwise it is removed.

    On POSIX the partial file is locked from its creation until after the rename, so
    :func:`remove_orphaned_partials` (in any process) can tell a live transfer from a killed one."""
    tmp, out = _open_locked_partial(dest)
    try:
        yield out
        out.flush()
        if not fcntl:
            out.close()  # Windows renames no open file
        if mtime_ns is not None:  # e.g. the source's, like cp -p
            os.utime(tmp, ns=(mtime_ns, mtime_ns))
        os.replace(tmp, dest)
    finally:
        out.close()
        tmp.unlink(missing_ok=True)


def remove_orphaned_partials(folder: Path) -> int:
    """Delete the partial files in ``folder`` (not below) that a killed transfer left: on POSIX those
    no process holds locked, elsewhere those unchanged for :data:`ORPHAN_AGE`. Returns how many."""
    import time

    removed = 0
    try:
        names = [n for n in os.listdir(folder) if n.startswith(PARTIAL_PREFIX)]
    except OSError:
        return 0
    for name in names:
        path = Path(folder, name)
        try:
            with open(path, "rb") as held:
                if fcntl:
                    fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError while a writer holds it
                elif time.time() - os.fstat(held.fileno()).st_mtime < ORPHAN_AGE:
                    continue
                os.unlink(path)  # under our lock: a writer that opened it but has not locked it yet starts over
            removed += 1
        except OSError:
            continue  # held by a live transfer, or already renamed or removed
    return removed


def write_checked(dest: Path, read, *, expected: str | None, progress=None, mismatch: str,
                  chunk: int | None = None) -> tuple[int, str]:
    """Stream ``read(n)`` chunks into ``dest`` through a partial file, hashing as it goes; (size,
    hash). A hash other than ``expected`` (when known) raises ``StoreError(mismatch)`` and leaves
    ``dest`` untouched: a download never lands bytes the store did not record."""
    from azrender.sync import hashing
    from azrender.errors import StoreError

    hasher, size = hashing.new_hasher(), 0
    with writing_partial(dest) as out:
        while data := read(chunk or hashing.READ_CHUNK):
            hasher.update(data)
            out.write(data)
            size += len(data)
            if progress:
                progress(len(data))
        digest = hasher.hexdigest()
        if expected and digest != expected:
            raise StoreError(mismatch)
    return size, digest
