"""Per-user folders (platformdirs), each overridable by an environment variable for tests and
studios that keep caches on a fast local disk."""

from __future__ import annotations

import os
from pathlib import Path


def _dir(env: str, kind: str) -> Path:
    override = os.environ.get(env)
    if override:
        path = Path(override)
    else:
        import platformdirs

        path = Path(getattr(platformdirs, f"user_{kind}_dir")("azrender", appauthor=False))
    created = not path.is_dir()
    path.mkdir(parents=True, exist_ok=True)
    # Job records, logs and the local backend's nodes are this user's alone (a folder given by
    # variable is left as the studio made it, unless azrender made it).
    if os.name != "nt" and (created or not override) and path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def config_dir() -> Path:
    """Settings and profiles (``config.toml``)."""
    return _dir("AZRENDER_CONFIG_DIR", "config")


def cache_dir() -> Path:
    """The content-hash cache and other rebuildable data."""
    return _dir("AZRENDER_CACHE_DIR", "cache")


def state_dir() -> Path:
    """Job records, the local backend's nodes and store (not rebuildable: outputs live here)."""
    return _dir("AZRENDER_STATE_DIR", "state")
