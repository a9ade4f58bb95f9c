"""The node's content cache: each file's bytes once, named by their hash
(``<root>/content/<hh>/<hash>``: a name is never given other bytes, so one job's preparation cannot
change a file another job reads), kept across jobs, and a versioned state file saying what each
cached object is (size, mtime, whether it was hashed), when it was last used, and which running jobs
need it (pins), so eviction never removes content another job on this node still renders with.
Mounted modes: ``verified`` lists the content files of a mount hashed intact on this node (path ->
size, mtime), so each is hashed once per node, not once per job.

Preparation and release tasks of several jobs can run at once on one node: every change to the
state happens under an exclusive lock on ``<root>/cache.lock``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time

STATE_VERSION = 2  # 1: files by store key (the keyed layout), started afresh
CONTENT_DIR = "content"
STATE_FILE = "cache-state.json"  # mirrors azrender.layout (node layout)
LOCK_FILE = "cache.lock"


class UnsafeKey(ValueError):
    """A store key that would land outside the cache (``..``, absolute, NUL, backslash)."""


def local_path(root: str, key: str) -> str:
    """Where ``key`` lives under ``root``; refuses any key that could escape it."""
    parts = key.split("/")
    if (not key or "\\" in key or "\0" in key or key.startswith("/")
            or any(p in ("", ".", "..") for p in parts) or ":" in parts[0]):
        raise UnsafeKey(f"refusing unsafe file name {key!r} in the manifest")
    path = os.path.join(root, *parts)
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
        raise UnsafeKey(f"refusing {key!r}: it resolves outside the node cache")
    return path


@contextlib.contextmanager
def locked(root: str):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, LOCK_FILE), "a+b") as handle:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        except ImportError:  # Windows nodes
            import msvcrt

            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    time.sleep(0.5)
        yield


def load_state(root: str) -> dict:
    """The cache state; an unreadable or foreign-version state starts empty (files re-download)."""
    try:
        with open(os.path.join(root, STATE_FILE), encoding="utf-8") as f:
            state = json.load(f)
        if isinstance(state, dict) and state.get("version") == STATE_VERSION:
            state.setdefault("files", {})
            state.setdefault("pins", {})
            state.setdefault("verified", {})
            return state
    except (OSError, ValueError, RecursionError):
        pass
    return {"version": STATE_VERSION, "files": {}, "pins": {}, "verified": {}}


def save_state(root: str, state: dict) -> None:
    path = os.path.join(root, STATE_FILE)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, separators=(",", ":"), sort_keys=True)
    os.replace(tmp, path)


def content_key(digest: str) -> str:
    """Mirrors azrender.sync.content.content_key: where the bytes with this hash are stored."""
    return f"{CONTENT_DIR}/{digest[:2]}/{digest}"


def content_path(root: str, digest: str) -> str:
    return local_path(root, content_key(digest))


def is_current(root: str, digest: str, record: dict | None, size: int, *, can_hash: bool = True) -> bool:
    """The cached object is intact as far as a stat can tell: recorded (it was hashed when it
    arrived, or this node cannot hash either), and untouched since."""
    if not record or record.get("size") != size or (can_hash and record.get("hashed") is False):
        return False
    try:
        st = os.stat(content_path(root, digest))
    except OSError:
        return False
    return st.st_size == size and st.st_mtime_ns == record.get("mtime_ns")
