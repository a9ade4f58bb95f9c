"""The node's asset cache: files under ``<root>/assets/...`` kept across jobs, and a versioned
state file saying what each file is (hash, size, mtime), when it was last used, and which running
jobs need it (pins), so eviction never removes a file another job on this node still renders with.

Preparation and release tasks of several jobs can run at once on one node: every change to the
state happens under an exclusive lock on ``<root>/cache.lock``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time

STATE_VERSION = 1
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
            return state
    except (OSError, ValueError, RecursionError):
        pass
    return {"version": STATE_VERSION, "files": {}, "pins": {}}


def save_state(root: str, state: dict) -> None:
    path = os.path.join(root, STATE_FILE)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, separators=(",", ":"), sort_keys=True)
    os.replace(tmp, path)


def is_current(root: str, key: str, record: dict | None, digest: str, size: int) -> bool:
    """The cached file is the manifest's version: same recorded hash, untouched since written."""
    if not record or record.get("hash") != digest or record.get("size") != size:
        return False
    try:
        st = os.stat(local_path(root, key))
    except OSError:
        return False
    return st.st_size == size and st.st_mtime_ns == record.get("mtime_ns")
