"""Content hashes on the node: xxh3-128, the hash every manifest pins (``azrender.sync.hashing``).

The node tool is standard library only, and xxh3 is not in it: the ``xxhash`` module is used when
the node's Python has it, or from ``$AZ_BATCH_NODE_SHARED_DIR/azrender/python/<tag>/``, where the
start task of a pool azrender creates installs the pinned wheel (``provide``); the local backend's
nodes run azrender's own interpreter. Without it files are checked by size alone, and the
preparation task says so: it never reports a check it did not do.
"""

from __future__ import annotations

import os
import sys

CHUNK = 1 << 20
NO_HASHER = ("this node's Python has no xxhash module: files are checked by size only "
             "(a pool azrender creates installs it in its start task; on your own pools install "
             "python3-xxhash or 'pip install xxhash')")


def python_tag() -> str:
    return f"cp{sys.version_info[0]}{sys.version_info[1]}"


def site_dir(shared: str) -> str:
    """Where ``provide`` installs xxhash for this Python under the node's shared folder."""
    return os.path.join(shared, "azrender", "python", python_tag())


def _import():
    try:
        import xxhash

        return xxhash
    except ImportError:
        pass
    shared = os.environ.get("AZ_BATCH_NODE_SHARED_DIR")
    folder = site_dir(shared) if shared else None
    if folder and os.path.isdir(folder):
        sys.path.append(folder)
        try:
            import xxhash

            return xxhash
        except ImportError:
            sys.path.remove(folder)
    return None


xxhash = _import()


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
