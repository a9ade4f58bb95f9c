"""Asset roots: which local folders become which ``assets/<alias>/`` in the store.

The scene's project folder is one root (so the scene and its project-relative files keep their
layout); any file outside it is stored under its drive (``C:`` -> ``drive-c``), its share
(``\\\\nas\\lib`` -> ``nas-lib``) or, on Linux/macOS, the file system root (``root``). Aliases are
derived from the folders alone, so every submission of a project lands on the same keys.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Iterable

from azrender import layout
from azrender.node import pathtext
from azrender.paths.model import AssetRoot, LocalPath, parse_local_path

# A folder holding one of these is a project root (Maya's workspace; a studio's explicit marker).
PROJECT_MARKERS = ("workspace.mel", ".azrender-root")
MARKER_SEARCH_DEPTH = 3  # scene folder and up to 2 parents (Maya: <project>/scenes/shot.ma)


def derive_roots(paths: Iterable[str], scene: str, *, project: str | None = None) -> list[AssetRoot]:
    """Roots covering ``scene`` and every absolute path in ``paths`` (relative ones are ignored).

    ``project``: the project folder when known (e.g. Maya's ``-proj``); else the nearest folder
    above the scene with a project marker, else the scene's folder.
    """
    scene_path = parse_local_path(_absolute(scene))
    project_path = parse_local_path(_absolute(project)) if project else _find_project(scene_path)
    prefixes: dict[tuple, LocalPath] = {}

    def add(prefix: LocalPath) -> None:
        prefixes.setdefault(_identity(prefix), prefix)

    add(project_path)
    for text in paths:
        try:
            path = parse_local_path(text)
        except ValueError:
            continue  # unresolved relative path: reported missing by discovery, nothing to store
        if not path.is_within(project_path):
            add(_volume(path))
    ordered = [project_path] + sorted((p for p in prefixes.values() if p is not project_path), key=str)
    return _with_unique_aliases(ordered)


def storage_key(path: str, roots: Iterable[AssetRoot]) -> str:
    """``assets/<alias>/<relative path>`` of ``path`` under the deepest root holding it.

    Raises ValueError when no root holds it.
    """
    local = parse_local_path(path)
    best = None
    for root in roots:
        prefix = root.local
        if local.is_within(prefix) and (best is None or len(prefix.parts) > len(best[1].parts)):
            best = (root, prefix)
    if best is None:
        raise ValueError(f"no asset root holds {path}")
    return layout.asset_key(best[0].alias, "/".join(local.relative_to(best[1])))


def asset_roots(scene: str, dependencies, *, project: str | None = None, plugin_manager=None) -> list[AssetRoot]:
    """:func:`derive_roots` for a scene's dependencies, then the ``azrender_asset_roots`` hook."""
    from azrender.plugins import get_plugin_manager

    dependencies = list(dependencies)
    roots = derive_roots((d.path for d in dependencies), scene, project=project)
    pm = plugin_manager or get_plugin_manager()
    pm.hook.azrender_asset_roots(scene=scene, dependencies=dependencies, roots=roots)
    return roots


def _absolute(text: str) -> str:
    try:
        parse_local_path(text)
        return text
    except ValueError:
        return os.path.abspath(text)  # a relative scene path is relative to this machine's cwd


def _find_project(scene: LocalPath) -> LocalPath:
    folder = scene.parent
    candidate = folder
    for _ in range(MARKER_SEARCH_DEPTH):
        if any(os.path.exists(os.path.join(str(candidate), m)) for m in PROJECT_MARKERS):
            return candidate
        if not candidate.parts:
            break
        candidate = candidate.parent
    return folder


def _volume(path: LocalPath) -> LocalPath:
    return LocalPath(path.flavor, path.anchor, ())


def _identity(path: LocalPath) -> tuple:
    return (path.flavor,) + pathtext.fold(path.flavor, (path.anchor,) + path.parts)


def _base_alias(path: LocalPath) -> str:
    if path.parts:
        name = path.parts[-1]
    elif path.flavor == pathtext.WINDOWS:
        name = "drive-" + path.anchor[0]
    elif path.flavor == pathtext.UNC:
        name = path.anchor.strip("\\").replace("\\", "-")
    else:
        name = "root"
    return re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.") or "root"


def _with_unique_aliases(prefixes: list[LocalPath]) -> list[AssetRoot]:
    bases = [_base_alias(p) for p in prefixes]
    roots = []
    for prefix, base in zip(prefixes, bases):
        alias = base
        if bases.count(base) > 1:  # suffix from the folder itself: stable whatever else is submitted
            alias += "-" + hashlib.sha1("\0".join(_identity(prefix)).encode()).hexdigest()[:6]
        roots.append(AssetRoot(alias, str(prefix)))
    return roots
