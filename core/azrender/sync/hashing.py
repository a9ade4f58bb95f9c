"""Content hashes (xxh3-128, hex) and the cache that lets an unchanged file skip being re-read.

The cache is a SQLite database in WAL mode under :func:`azrender.dirs.cache_dir`, keyed by the
absolute path and the file's size, mtime_ns and inode: any change to one of them is a miss. It is
an optimisation only: when it is corrupt, locked or deleted, hashing still gives the right answer,
just more slowly.

A file that changes while it is read (its size, mtime or ctime differ before and after) is read
again; a hash is never returned for bytes that were not one stable state of the file.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import xxhash

from azrender.errors import StoreError

log = logging.getLogger(__name__)

READ_CHUNK = 1 << 20
ATTEMPTS = 3  # reads of a file that keeps changing before giving up on it
# A file modified this close to the moment it was hashed could change again within the same
# mtime tick without its key changing: not cached. Ticks are a clock interrupt (1-16 ms) where
# mtimes have sub-second digits, up to 2 s (FAT, some shares) where they are whole seconds.
RACY_WINDOW_NS = 100_000_000
RACY_WINDOW_WHOLE_SECONDS_NS = 2_000_000_000
CACHE_FILE = "hashes.sqlite3"
SCHEMA_VERSION = 1


class FileChangedError(StoreError):
    """A file kept changing while azrender read it; its content has no single hash yet."""


def hash_bytes(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def new_hasher():
    """An incremental xxh3-128 hasher (``update(bytes)``, ``hexdigest()``)."""
    return xxhash.xxh3_128()


@dataclass(frozen=True)
class FileState:
    """What identifies one version of a file without reading it."""

    size: int
    mtime_ns: int
    ino: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> "FileState":
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


@dataclass(frozen=True)
class HashedFile:
    path: Path
    size: int
    mtime_ns: int
    content_hash: str


def hash_file(path: Path) -> tuple[str, FileState]:
    """Read ``path`` once and return its hash with the (unchanged) state it had while read.

    Raises :class:`FileChangedError` when it changed during each of :data:`ATTEMPTS` reads and
    :class:`OSError` when it cannot be read.
    """
    buffer = _read_buffer()
    for _ in range(ATTEMPTS):
        before = FileState.of(os.stat(path))
        hasher = xxhash.xxh3_128()
        with open(path, "rb", buffering=0) as f:
            while n := f.readinto(buffer):
                hasher.update(buffer[:n])
        after = FileState.of(os.stat(path))
        if before == after:
            return hasher.hexdigest(), after
    raise FileChangedError(f"{path}: the file kept changing while it was read; try again once it is saved")


_buffers = threading.local()


def _read_buffer() -> memoryview:
    """A read buffer per thread: hashing thousands of files allocates nothing per file (a fresh
    megabyte per read, shrunk to a small file's size, fragments the heap of a threaded process)."""
    buffer = getattr(_buffers, "buffer", None)
    if buffer is None:
        buffer = _buffers.buffer = memoryview(bytearray(READ_CHUNK))
    return buffer


def read_verified(path: Path, content_hash: str, chunk_size: int = READ_CHUNK, *,
                  buffers: "BufferPool | None" = None) -> Iterator[bytes | memoryview]:
    """Yield the content of ``path`` in chunks of ``chunk_size``; after the last chunk, raise
    :class:`FileChangedError` if the bytes do not hash to ``content_hash`` or the file changed
    while it was read. Consumers make nothing visible before the iterator is exhausted.

    With ``buffers``, each chunk is a view of a buffer taken from that pool (``chunk_size`` is
    the pool's buffer size); the consumer gives it back (``buffers.give(chunk.obj)``) once sent.
    """
    before = FileState.of(os.stat(path))
    hasher = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while True:
            if buffers is None:
                chunk = f.read(chunk_size)
            else:
                buffer = buffers.take()
                try:
                    chunk = memoryview(buffer)[:f.readinto(buffer)]
                except BaseException:
                    buffers.give(buffer)
                    raise
                if not chunk:
                    buffers.give(buffer)
            if not chunk:
                break
            hasher.update(chunk)
            yield chunk
    if FileState.of(os.stat(path)) != before or hasher.hexdigest() != content_hash:
        raise FileChangedError(f"{path}: the file changed while it was being transferred")


def read_once(path: Path, buffers: Sequence[bytearray]) -> tuple[list[memoryview], str, FileState]:
    """The whole of ``path`` read once into ``buffers`` (each filled before the next), its hash and
    the state it had while read: the caller can send exactly the bytes it hashed. Raises
    :class:`FileChangedError` when the file changed while read or no longer fits."""
    before = FileState.of(os.stat(path))
    hasher = new_hasher()
    chunks: list[memoryview] = []
    with open(path, "rb", buffering=0) as f:
        for buffer in buffers:
            view, filled = memoryview(buffer), 0
            while filled < len(view) and (n := f.readinto(view[filled:])):
                filled += n
            chunks.append(view[:filled])
            hasher.update(chunks[-1])
            if filled < len(view):
                break
        grown = f.read(1)
    after = FileState.of(os.stat(path))
    if after != before or grown or sum(map(len, chunks)) != after.size:
        raise FileChangedError(f"{path}: the file changed while it was read")
    return chunks, hasher.hexdigest(), after


class BufferPool:
    """At most ``count`` reusable buffers of ``size`` bytes, made on first need: bounds the file
    data that concurrent transfers hold in memory, and allocates it once (fresh multi-megabyte
    reads fragment the heap of a threaded process). ``take`` waits while all are in use."""

    def __init__(self, count: int, size: int):
        self.size, self._count, self._made = size, count, 0
        self._free: list[bytearray] = []
        self._cond = threading.Condition()

    def take(self) -> bytearray:
        with self._cond:
            self._cond.wait_for(lambda: self._free or self._made < self._count)
            if self._free:
                return self._free.pop()
            self._made += 1
        return bytearray(self.size)

    def take_many(self, n: int) -> list[bytearray]:
        """``n`` buffers (at most the pool's count) at once: a reader never holds some while waiting
        for more, so readers cannot starve each other of the last ones."""
        with self._cond:
            self._cond.wait_for(lambda: len(self._free) + self._count - self._made >= n)
            taken = [self._free.pop() for _ in range(min(n, len(self._free)))]
            fresh = n - len(taken)
            self._made += fresh
        return taken + [bytearray(self.size) for _ in range(fresh)]

    def give(self, buffer: bytearray) -> None:
        with self._cond:
            self._free.append(buffer)
            self._cond.notify()


class HashCache:
    """``(absolute path, size, mtime_ns, inode) -> hash``, persistent and safe to share by threads.

    Every SQLite failure (corrupt file, lock held too long, disk full) turns the cache off for the
    rest of the process with one debug message; callers then simply hash again.
    """

    def __init__(self, path: Path | None = None):
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        try:
            if path is None:
                from azrender.dirs import cache_dir

                path = cache_dir() / CACHE_FILE
            self._db = self._open(Path(path))
        except (sqlite3.Error, OSError) as exc:
            log.debug("hash cache unavailable (%s); hashing without it", exc)
            self._db = None

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        for attempt in (1, 2):
            db = sqlite3.connect(str(path), timeout=1.0, check_same_thread=False, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    db.execute("DROP TABLE IF EXISTS hashes")
                    db.execute("CREATE TABLE hashes (path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
                               " mtime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, hash TEXT NOT NULL)")
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                return db
            except sqlite3.OperationalError:  # locked, read-only, disk full: leave the file alone
                db.close()
                raise
            except sqlite3.DatabaseError:
                db.close()
                if attempt == 2:
                    raise
                # Not a database any more (truncated, overwritten): it only held rebuildable data.
                for suffix in ("", "-wal", "-shm"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
        raise AssertionError("unreachable")

    def _disable(self, exc: Exception) -> None:
        log.debug("hash cache disabled (%s); hashing without it", exc)
        db, self._db = self._db, None
        if db is not None:
            try:
                db.close()
            except sqlite3.Error:
                pass

    def get_many(self, items: Sequence[tuple[str, FileState]]) -> list[str | None]:
        """Cached hashes for ``(absolute path, state)`` pairs, ``None`` where unknown or stale."""
        with self._lock:
            if self._db is None:
                return [None] * len(items)
            try:
                found = []
                query = "SELECT size, mtime_ns, ino, hash FROM hashes WHERE path = ?"
                for path, state in items:
                    row = self._db.execute(query, (_db_key(path),)).fetchone()
                    ok = row is not None and (row[0], row[1], row[2]) == (state.size, state.mtime_ns, state.ino)
                    found.append(row[3] if ok else None)
                return found
            except sqlite3.Error as exc:
                self._disable(exc)
                return [None] * len(items)

    def put_many(self, rows: Iterable[tuple[str, FileState, str]]) -> None:
        """Remember hashes; the caller vouches that each was computed from exactly that state."""
        rows = [(_db_key(p), s.size, s.mtime_ns, s.ino, h) for p, s, h in rows]
        if not rows:
            return
        with self._lock:
            if self._db is None:
                return
            try:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._disable(exc)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _db_key(path: str) -> str | bytes:
    """The cache key of a path: its text, or its raw bytes for a name that is not UTF-8 (a
    Latin-1 name from an old share); SQLite never takes a blob key for a text one."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


_default: HashCache | None = None
_default_lock = threading.Lock()


def default_cache() -> HashCache:
    """The process-wide cache in the user's cache folder (opened on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = HashCache()
        return _default


def hash_files(paths: Sequence[Path | str], *, cache: HashCache | None = None, workers: int | None = None,
               use_cache: bool = True) -> list[HashedFile]:
    """Hash ``paths`` (in order), reading only files the cache does not already know.

    Misses are read in parallel (``workers`` threads); new hashes of files whose mtime is older
    than the filesystem's mtime tick (:data:`RACY_WINDOW_NS`) are written back to the cache. ``use_cache=False`` re-reads every
    file (used after a file was caught changing).
    """
    cache = cache or default_cache()
    paths = [Path(p) for p in paths]
    keys = [os.path.abspath(p) for p in paths]
    results: list[HashedFile | None] = list(known_hashes(paths, cache=cache)) if use_cache else [None] * len(paths)
    misses = [i for i, r in enumerate(results) if r is None or not r.content_hash]
    if misses:
        started_ns = time.time_ns()
        pool = ThreadPoolExecutor(max_workers=workers or min(8, (os.cpu_count() or 2) * 2))
        try:
            hashed = list(pool.map(lambda i: hash_file(paths[i]), misses))
        except KeyboardInterrupt:  # Ctrl-C: never wait for the queued files
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        for i, (digest, state) in zip(misses, hashed):
            results[i] = HashedFile(paths[i], state.size, state.mtime_ns, digest)
        remember(cache, [(keys[i], state, digest) for i, (digest, state) in zip(misses, hashed)], started_ns)
    return results  # type: ignore[return-value]


def known_hashes(paths: Sequence[Path | str], *, cache: HashCache | None = None) -> list[HashedFile]:
    """Each of ``paths`` as it is now (one ``stat`` each, nothing read), with its cached hash, or
    ``""`` where the cache does not know that version. ``OSError`` for a file that cannot be stat'ed."""
    cache = cache or default_cache()
    keys = [os.path.abspath(p) for p in paths]
    states = [FileState.of(os.stat(p)) for p in keys]
    cached = cache.get_many(list(zip(keys, states)))
    return [HashedFile(Path(p), s.size, s.mtime_ns, h or "") for p, s, h in zip(paths, states, cached)]


def remember(cache: HashCache, rows: Iterable[tuple[str, FileState, str]], started_ns: int) -> None:
    """Cache ``(absolute path, state, hash)`` rows read since ``started_ns`` (``time.time_ns()``),
    leaving out files modified too recently to trust their mtime (:data:`RACY_WINDOW_NS`)."""
    cache.put_many([(p, s, h) for p, s, h in rows if s.mtime_ns < started_ns - _racy_window(s.mtime_ns)])


def _racy_window(mtime_ns: int) -> int:
    return RACY_WINDOW_WHOLE_SECONDS_NS if mtime_ns % 1_000_000_000 == 0 else RACY_WINDOW_NS
