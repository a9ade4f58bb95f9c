"""Per-user folders (platformdirs), each overridable by an environment variable for tests and
studios that keep caches on a fast local disk.

What azrender keeps for itself (settings, job records, logs, the local backend's nodes and store,
partial files) is this user's alone: its processes create files 0600 and folders 0700
(:func:`private_files`). What it writes for the user elsewhere (downloaded frames, a store in a
shared folder, built plug-ins, reports) gets the modes the user's own umask gives (:func:`for_user`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_FOLDERS = (("AZRENDER_CONFIG_DIR", "config"), ("AZRENDER_CACHE_DIR", "cache"), ("AZRENDER_STATE_DIR", "state"))
_user_umask: int | None = None  # the user's umask, once private_files() ran
_UMASK_VARIABLE = "AZRENDER_USER_UMASK"  # for azrender processes started by one that runs privately


def _path(env: str, kind: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override)
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")("azrender", appauthor=False))


def _dir(env: str, kind: str) -> Path:
    path = _path(env, kind)
    created = not path.is_dir()
    path.mkdir(parents=True, exist_ok=True)
    # Job records, logs and the local backend's nodes are this user's alone (a folder given by
    # variable is left as the studio made it, unless azrender made it).
    if os.name != "nt" and (created or not os.environ.get(env)) and path.stat().st_mode & 0o077:
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


def private_files() -> None:
    """Make every file and folder this process creates from now on its user's alone (umask 077).
    Called first thing by azrender's own processes (the CLI, the local backend's runner), never
    inside a host application, whose files are the artist's. The user's umask is passed on to
    azrender processes this one starts, so that they too give the user's files the user's modes."""
    global _user_umask
    if os.name == "nt" or _user_umask is not None:
        return
    started_with = os.umask(0o077)
    try:
        _user_umask = int(os.environ[_UMASK_VARIABLE], 8) & 0o777
    except (KeyError, ValueError):
        _user_umask = started_with
    os.environ[_UMASK_VARIABLE] = f"{_user_umask:o}"


def private_mode(mode: int) -> int:
    """``mode`` as this process's files get it: without group and other bits after :func:`private_files`."""
    return mode & ~0o077 if _user_umask is not None else mode


def _own(path: Path) -> bool:
    try:
        real = path.resolve()
        return any(real.is_relative_to(_path(env, kind).resolve()) for env, kind in _FOLDERS)
    except (OSError, ValueError):
        return False


def for_user(path: str | os.PathLike, *, folder: bool = False, fd: int | None = None) -> None:
    """Give ``path``, just created by this process (open as ``fd``, if given), the mode the user's
    umask gives it, unless it is in azrender's own folders (after :func:`private_files`; else it
    has that mode already)."""
    if _user_umask is not None and not _own(Path(path)):
        mode = (0o777 if folder else 0o666) & ~_user_umask
        os.fchmod(fd, mode) if fd is not None else os.chmod(path, mode)


def make_folders(path: str | os.PathLike) -> None:
    """``mkdir -p path``, each folder it creates given :func:`for_user`'s mode."""
    path = Path(path)
    missing = []
    while not path.is_dir():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        for_user(folder, folder=True)


@contextlib.contextmanager
def user_umask():
    """The user's own umask back for single-threaded work that writes only the user's files
    (``build-plugins``)."""
    if _user_umask is None:
        yield
        return
    os.umask(_user_umask)
    try:
        yield
    finally:
        os.umask(0o077)
