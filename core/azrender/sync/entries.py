"""What ``azrender sync PATH...`` uploads: every file under the given folders (or the files given),
each with its store key ``<alias>/<relative path>``."""

from __future__ import annotations

import os
from pathlib import Path


def collect_entries(paths: list[str], allowed: list[str] = ()) -> tuple[list[tuple[Path, str]], list[str]]:
    """``(file, key)`` for every file under ``paths``, and the aliases synced as whole folders.

    Keys are ``<alias>/<relative path>`` where the alias is the folder's name (a file given
    directly uses its parent folder's name). A system or credential location (given, or reached
    through a link inside a folder), and a pipe, socket or device inside a folder, is refused with
    its rule unless ``allowed`` (see :mod:`azrender.private`); a file that is not regular is never read."""
    from azrender.errors import UsageError
    from azrender.private import Guard

    guard = Guard(allowed)
    entries: list[tuple[Path, str]] = []
    folders: list[str] = []
    owners: dict[str, Path] = {}
    links: list[str] = []  # links and special files found in folders: what the guard must judge
    for text in paths:
        if refused := guard.refusal(os.path.expanduser(text)):
            raise UsageError(refused.line())
        path = Path(os.path.expanduser(text)).absolute()  # an unknown ~user stays as typed
        if path.is_file():
            alias, files = path.parent.name, [(path, path.name)]
        elif path.is_dir():
            alias, files = path.name, None
            folders.append(alias)
        else:
            raise UsageError(f"{text}: no such file or folder")
        if not alias:
            raise UsageError(f"{text}: a filesystem root has no folder name to store it under")
        if files is None:  # after the check: never walk a whole filesystem
            files = _walk(path, links)
        if owners.setdefault(alias, path.parent if path.is_file() else path) != (path.parent if path.is_file() else path):
            raise UsageError(f"{owners[alias]} and {text} would both be stored under {alias}/; sync them separately")
        entries.extend((file, f"{alias}/{relative}") for file, relative in files)
    if refused := guard.refusals(links):  # only a link can lead out of an allowed folder
        more = [f"... and {len(refused) - 10} more"] if len(refused) > 10 else []
        raise UsageError(f"{len(refused)} file(s) refused:\n  " + "\n  ".join([r.line() for r in refused[:10]] + more))
    return entries, folders


def _walk(folder: Path, links: list):
    """``(file, relative posix path)`` under ``folder``, sorted, and in ``links`` the linked files
    and the pipes, sockets and devices (never read); plain strings and scandir's d_type until the
    end, since this runs for every file on every sync."""
    stack = [("", str(folder))]
    found = []
    while stack:
        relative, path = stack.pop()
        with os.scandir(path) as it:
            for entry in it:
                rel = f"{relative}{entry.name}"
                if entry.is_dir():
                    if not entry.is_symlink():  # like os.walk: a link cycle cannot loop
                        stack.append((rel + "/", entry.path))
                elif entry.is_file():
                    found.append((entry.path, rel))
                    if entry.is_symlink():
                        links.append(entry.path)
                elif not entry.is_symlink() or os.path.exists(entry.path):  # a broken link is no file
                    links.append(entry.path)  # a pipe, socket or device: the guard names it
    found.sort(key=lambda item: item[1])
    return [(Path(p), rel) for p, rel in found]


def store_inside(store, folders) -> str | None:
    """Why a local folder ``store`` must not be used with ``folders`` (it lies inside one: each
    sync would upload the store into itself), or None."""
    where = getattr(store, "root", None)  # only a folder store has one
    if where is None:
        return None
    where = os.path.realpath(where)
    for folder in folders:
        real = os.path.realpath(os.path.expanduser(os.fspath(folder)))
        if os.path.isdir(real) and (where == real or where.startswith(real.rstrip(os.sep) + os.sep)):
            return (f"the store {store.display_url} is inside {folder}, which it stores: each run would store the "
                    "store into itself; keep it outside the folders it stores")
    return None
