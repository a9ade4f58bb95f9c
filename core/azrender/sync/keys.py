"""Store keys are '/'-separated names chosen by whoever wrote the store; before one becomes a local
path it must be proven harmless: no ``..``, no absolute or drive-qualified name, no NUL, and no
backslash (a separator on Windows), so a download can never write outside its destination."""

from __future__ import annotations

import re
from pathlib import Path

_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_reason(key: str) -> str | None:
    """Why ``key`` must not become a local path, or ``None`` when it is safe."""
    if not key:
        return "empty name"
    if "\x00" in key:
        return "contains NUL"
    if "\\" in key:
        return "contains a backslash"
    if key.startswith("/"):
        return "absolute name"
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "contains an empty, '.' or '..' segment"
    if any(_DRIVE.match(p) for p in parts):  # Windows: 'C:x' anywhere restarts the path on drive C
        return "drive-qualified name"
    return None


def local_path(root: Path, key: str) -> Path:
    """``root / key`` for a key :func:`unsafe_reason` accepted; ``ValueError`` otherwise."""
    reason = unsafe_reason(key)
    if reason:
        raise ValueError(f"unsafe name {key!r}: {reason}")
    return root.joinpath(*key.split("/"))
