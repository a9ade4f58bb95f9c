"""Names shared by every host's submission copy: where it is stored and how node paths relate."""

from __future__ import annotations

import posixpath
import re

from azrender.node import pathtext

COPY_SUFFIX = ".azrender"


def copy_key(scene_key: str) -> str:
    """Key of a scene's rewritten submission copy: beside the scene (so relative paths hold), with
    its own name (so the artist's file and the copy never overwrite each other in the store)."""
    stem, ext = posixpath.splitext(scene_key)
    return f"{stem}{COPY_SUFFIX}{ext}"


def relative_node_path(from_folder: str, to_path: str) -> str | None:
    """``to_path`` relative to ``from_folder`` ('/'-separated), both node paths as the rules give
    them (``$AZ_BATCH_NODE_SHARED_DIR/...``, ``S:\\...``); None when they share no base (a
    different variable, drive or mount), since then only an absolute path reaches the file."""
    source = re.split(r"[\\/]", from_folder)
    target = re.split(r"[\\/]", to_path)
    if not source or not target or source[0] != target[0]:
        return None
    common = 0
    for a, b in zip(source, target):
        if a != b:
            break
        common += 1
    return "/".join([".."] * (len(source) - common) + target[common:])


def node_folder(node_path: str) -> str:
    return re.split(r"[\\/](?=[^\\/]*$)", node_path)[0]


def local_join(folder: str, relative: str) -> str:
    """Absolute local path of ``relative`` (either separator) under absolute local ``folder``."""
    flavor, anchor, parts = pathtext.split(folder)
    return pathtext.join(flavor, anchor, parts + tuple(re.split(r"[\\/]", relative)))


class TargetIndex:
    """Node paths of a submission's dependencies, looked up by a path as a scene wrote it.

    Scenes often hold a path that is not where discovery found the file (``D:/old/tex.png`` found
    beside the scene). A written path resolves to: the dependency at exactly that path, else the
    only dependency with that file name (``None`` when the name is ambiguous or unknown).
    """

    def __init__(self, mapped):
        self._by_path: dict[tuple, str] = {}
        names: dict[str, set[str]] = {}
        for item in mapped:
            if not item.node_path:
                continue
            identity = _identity(item.local_path)
            if identity is not None:
                self._by_path[identity] = item.node_path
            names.setdefault(_name(item.local_path).casefold(), set()).add(item.node_path)
        self._by_name = {name: next(iter(paths)) for name, paths in names.items() if len(paths) == 1}

    def lookup(self, written: str) -> str | None:
        identity = _identity(written)
        if identity is not None and identity in self._by_path:
            return self._by_path[identity]
        return self._by_name.get(_name(written).casefold())


def _identity(text: str) -> tuple | None:
    try:
        flavor, anchor, parts = pathtext.split(text)
    except ValueError:
        return None
    return (flavor,) + pathtext.fold(flavor, (anchor,) + parts)


def _name(text: str) -> str:
    return re.split(r"[\\/]", text.rstrip("\\/"))[-1]


def env_tokens(node_path: str) -> list[tuple[str, str]]:
    """Split a node path into ``("text", ...)`` and ``("env", NAME)`` pieces, for hosts that need
    to build it with their own getenv (MEL, MAXScript)."""
    pieces: list[tuple[str, str]] = []
    position = 0
    for match in re.finditer(r"\$\{?(\w+)\}?|%(\w+)%", node_path):
        if match.start() > position:
            pieces.append(("text", node_path[position:match.start()]))
        pieces.append(("env", match.group(1) or match.group(2)))
        position = match.end()
    if position < len(node_path):
        pieces.append(("text", node_path[position:]))
    return pieces
