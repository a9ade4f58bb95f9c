"""Content hashes on the node: xxh3-128, the hash every manifest pins (``azrender.sync.hashing``).

The node tool is standard library only, and xxh3 is not in it: the ``xxhash`` module is used when
the node's Python has it (``apt install python3-xxhash`` or ``pip install xxhash`` in the pool's
start task; the local backend's nodes run azrender's own interpreter). Without it files are
checked by size alone, and the preparation task says so.
"""

from __future__ import annotations

try:
    import xxhash
except ImportError:  # pragma: no cover - depends on the node image
    xxhash = None

CHUNK = 1 << 20
NO_HASHER = ("this node's Python has no xxhash module: files are checked by size only "
             "(install python3-xxhash or 'pip install xxhash' in the pool's start task)")


def available() -> bool:
    return xxhash is not None


def hash_file(path: str) -> str | None:
    """The xxh3-128 hex digest of the file's bytes; None when this node cannot compute it."""
    if xxhash is None:
        return None
    hasher = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            hasher.update(block)
    return hasher.hexdigest()
