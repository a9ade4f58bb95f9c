"""Asset roots: which local folders become which ``assets/<alias>/`` in the store.

The scene's project folder is one root (so the scene and its project-relative files keep their
layout); any file outside it is stored under its top folder: ``D:\\lib`` -> ``d-lib``, ``\\\\nas\\lib`` -> ``nas-lib``,
``/home/me`` or ``/Volumes/NAS`` (two levels on Linux/macOS) -> ``home-me``, ``volumes-nas``. Not the
whole drive or ``/`` (only for a file lying directly there): a rule for ``D:\\`` or ``/`` would
also catch the node's own paths (Batch works under ``D:\\batch``, ``/mnt/batch``) when Maya's
dirmap or the Blender remap applies it.
Aliases are derived from the folders alone, so every submission of a project lands on the same keys.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from typing import Iterable

from azrender import layout
from azrender.node import pathtext
from azrender.paths.model import AssetRoot, LocalPath, absolute_local, parse_local_path

# A folder holding one of these is a project root (Maya's workspace; a studio's explicit marker).
PROJECT_MARKERS = ("workspace.mel", ".azrender-root")
MARKER_SEARCH_DEPTH = 3  # scene folder and up to 2 parents (Maya: <project>/scenes/shot.ma)


def derive_roots(paths: Iterable[str], scene: str, *, project: str | None = None) -> list[AssetRoot]:
    """Roots covering ``scene`` and every absolute path in ``paths`` (relative ones are ignored).

    ``project``: the project folder when known (e.g. Maya's ``-proj``); else the nearest folder
    above the scene with a project marker, else the scene's folder.
    """
    scene_path = parse_local_path(absolute_local(scene))
    project_path = parse_local_path(absolute_local(project)) if project else _find_project(scene_path)
    outside: dict[tuple, LocalPath] = {}
    for text in paths:
        try:
            path = parse_local_path(text)
        except ValueError:
            continue  # unresolved relative path: reported missing by discovery, nothing to store
        if not path.is_within(project_path):
            top = _top_folder(path)
            outside.setdefault(_identity(top), top)
    outside.pop(_identity(project_path), None)
    return _with_unique_aliases([project_path] + sorted(outside.values(), key=str), project_path)


def storage_key(path: str, roots: Iterable[AssetRoot]) -> str:
    """``assets/<alias>/<relative path>`` of ``path`` under the deepest root holding it.

    Raises ValueError when no root holds it.
    """
    found = _root_table(tuple(roots)).find(path)
    if found is None:
        raise ValueError(f"no asset root holds {path}")
    root, rest = found
    return layout.asset_key(root.alias, "/".join(rest))


@functools.lru_cache(maxsize=16)  # a submission keys every dependency with the same roots
def _root_table(roots: tuple[AssetRoot, ...]) -> pathtext.PrefixTable:
    return pathtext.PrefixTable((root.prefix, root) for root in roots)


def asset_roots(scene: str, dependencies, *, project: str | None = None, plugin_manager=None) -> list[AssetRoot]:
    """:func:`derive_roots` for a scene's dependencies, then the ``azrender_asset_roots`` hook."""
    from azrender.plugins import get_plugin_manager

    dependencies = list(dependencies)
    roots = derive_roots((d.path for d in dependencies), scene, project=project)
    pm = plugin_manager or get_plugin_manager()
    pm.hook.azrender_asset_roots(scene=scene, dependencies=dependencies, roots=roots)
    return roots


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


def _top_folder(path: LocalPath) -> LocalPath:
    folders = path.parts[:-1]  # never the file itself
    depth = 2 if path.flavor == pathtext.POSIX else 1 if path.flavor == pathtext.WINDOWS else 0
    return LocalPath(path.flavor, path.anchor, folders[:depth])


def _identity(path: LocalPath) -> tuple:
    return (path.flavor,) + pathtext.fold(path.flavor, (path.anchor,) + path.parts)


def _base_alias(path: LocalPath, project: LocalPath) -> str:
    if path is project and path.parts:
        words = [path.parts[-1]]
    elif path.flavor == pathtext.WINDOWS:
        words = [path.anchor[0]] + list(path.parts) if path.parts else ["drive", path.anchor[0]]
    elif path.flavor == pathtext.UNC:
        words = path.anchor.strip("\\").split("\\") + list(path.parts)
    else:
        words = list(path.parts) or ["root"]
    return re.sub(r"[^a-z0-9._-]+", "-", "-".join(words).lower()).strip("-.") or "root"


def _with_unique_aliases(prefixes: list[LocalPath], project: LocalPath) -> list[AssetRoot]:
    bases = [_base_alias(p, project) for p in prefixes]
    roots = []
    for prefix, base in zip(prefixes, bases):
        alias = base
        if bases.count(base) > 1:  # suffix from the folder itself: stable whatever else is submitted
            alias += "-" + hashlib.sha1("\0".join(_identity(prefix)).encode()).hexdigest()[:6]
        roots.append(AssetRoot(alias, str(prefix)))
    return roots
