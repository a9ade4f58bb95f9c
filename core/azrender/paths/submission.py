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
    source = [p for p in re.split(r"[\\/]", from_folder)]
    target = [p for p in re.split(r"[\\/]", to_path)]
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
