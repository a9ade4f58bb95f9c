"""Turn paths as written in a scene into :class:`Dependency` records — the one resolver shared by
the headless readers and the in-app collectors (Blender, Maya, 3ds Max plugins hand in
:class:`RawReference` records and never resolve paths themselves).

Resolution order for one path (first candidate with files on disk wins):

1. environment variables (``$VAR``, ``${VAR}``, ``%VAR%``);
2. the path itself: absolute, Blender ``//`` (also ``//..\\x``), Maya project root (the folder
   holding ``workspace.mel``, or ``--project``) then the scene's folder, else the scene's folder;
3. other paths the host stored for the same file (3ds Max's resolved path);
4. a file of the same name beside the scene (Maya and 3ds Max do this themselves);
5. the user's search paths: the relative path under each, then the file name under each.

Frame and tile tokens are expanded to the files that exist (:mod:`azrender.discovery.tokens`);
a path or pattern nothing matches is a missing dependency, reported with the best absolute guess
(or as written, for a Windows path read on Linux).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from azrender.discovery import tokens
from azrender.discovery.model import Dependency, Kind, SceneReport

# Hosts that fall back to "a file with that name beside the scene" when the written path is gone.
_BESIDE_SCENE_HOSTS = {"maya", "max"}
_PRIMARY = {"absolute", "blend-relative", "project-relative", "scene-relative"}
_FOREIGN_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|[\\/]{2}[^\\/])")  # C:\x, \\server\share


@dataclass(frozen=True)
class RawReference:
    """A path exactly as a scene holds it, plus what the host knows about it.

    path: as written (tokens, variables, ``//`` and backslashes untouched).
    kind: what the scene uses the file for.
    source: where it was found: ``node.attribute`` (Maya), datablock (Blender ``IM:wood``), stream.
    scene: the file holding the path; relative paths are relative to it.
    host: which relative-path rules apply: ``blender``, ``maya``, ``max``, ``usd`` or ``generic``.
    sequence: ``path`` is one frame of a sequence whose last digit run is the frame number, or a
        folder of cache files.
    tiles: ``path`` is the first tile: Maya ``uvTilingMode`` (1, 2, 3) or ``"udim"``.
    alternates: other paths the host recorded for the same file (3ds Max's resolved path).
    """

    path: str
    kind: Kind
    source: str
    scene: str
    host: str = "generic"
    sequence: bool = False
    tiles: int | str | None = None
    alternates: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResolveContext:
    """What the user told us about where files live."""

    search_paths: tuple[str, ...] = ()
    project: str | None = None  # Maya project root; found from workspace.mel when None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@functools.lru_cache(maxsize=256)
def maya_project_root(scene_dir: str) -> str | None:
    """The nearest folder at or above ``scene_dir`` holding ``workspace.mel``."""
    current = os.path.abspath(scene_dir)
    while True:
        if os.path.isfile(os.path.join(current, "workspace.mel")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _native(path: str) -> str:
    """Backslashes are separators in every scene format azrender reads; on POSIX make them ``/``."""
    return path.replace("\\", "/") if os.sep == "/" else path


@functools.lru_cache(maxsize=1024)
def _scene_dir(scene: str) -> str:
    return os.path.dirname(os.path.abspath(scene))


def _candidates(ref: RawReference, written: str, context: ResolveContext) -> Iterator[tuple[str, str]]:
    """Where the file may be, in the order the host would look (lazy: the first hit ends it)."""
    scene_dir = _scene_dir(ref.scene)
    path = _native(written)
    relative: str | None = None
    if ref.host == "blender" and path.startswith("//"):
        relative = path[2:]
        yield os.path.normpath(os.path.join(scene_dir, relative)), "blend-relative"
    elif _FOREIGN_ABSOLUTE.match(written) and os.sep == "/":
        pass  # a Windows drive or UNC path cannot be opened here; only the fallbacks can find it
    elif os.path.isabs(path):
        yield os.path.normpath(path), "absolute"
    else:
        relative = path
        project = context.project or (maya_project_root(scene_dir) if ref.host == "maya" else None)
        if project and ref.host == "maya":
            yield os.path.normpath(os.path.join(project, path)), "project-relative"
        yield os.path.normpath(os.path.join(scene_dir, path)), "scene-relative"
    alternates = [_native(a) for a in ref.alternates]
    for alternate in alternates:
        if os.path.isabs(alternate) and not _FOREIGN_ABSOLUTE.match(alternate):
            yield os.path.normpath(alternate), "stored-path"
    names = [n for n in dict.fromkeys(os.path.basename(p.rstrip("/")) for p in [path, *alternates]) if n]
    if ref.host in _BESIDE_SCENE_HOSTS:
        for name in names:
            yield os.path.join(scene_dir, name), "beside-scene"
    for root in context.search_paths:
        if relative:
            yield os.path.normpath(os.path.join(root, relative.lstrip("/"))), "search-path"
        for name in names:
            yield os.path.join(root, name), "search-path"


def _as_pattern(ref: RawReference, path: str) -> str:
    if ref.tiles:
        path = tokens.tile_pattern(path, ref.tiles)
    if ref.sequence and not tokens.has_tokens(os.path.basename(path)) and not os.path.isdir(path):
        path = tokens.frame_pattern(path)
    return path


def resolve(ref: RawReference, context: ResolveContext) -> tuple[list[Dependency], list[str]]:
    """The dependencies ``ref`` stands for (one per file; one missing record when nothing matched)
    and any warnings about it."""
    if not ref.path:
        return [], []
    written, undefined = tokens.expand_env(ref.path, context.env)
    warnings = [f"{ref.scene}: {ref.source}: environment variable {name} is not defined" for name in undefined]
    env_changed = written != ref.path
    primary = None
    for path, how in _candidates(ref, written, context):
        candidate = _as_pattern(ref, path)
        if primary is None and how in _PRIMARY:
            primary = candidate
        expansion = tokens.expand(candidate, directories=ref.sequence)
        if not expansion.files:
            continue
        resolved_by = "env" if env_changed and how == "absolute" else how
        pattern = candidate if expansion.is_pattern else None
        return [Dependency(file, True, ref.kind, ref.source, size, resolved_by, pattern, ref.scene)
                for file, size in expansion.files], warnings
    # Report the path the host itself would open: the written one made absolute, else where the
    # host last found it (3ds Max's resolved path), else as written (a Windows path read here).
    missing = primary or _as_pattern(ref, ref.alternates[-1] if ref.alternates else ref.path)
    pattern = missing if tokens.has_tokens(os.path.basename(missing)) else None
    return [Dependency(missing, False, ref.kind, ref.source, None, "unresolved", pattern, ref.scene)], warnings


def add_references(report: SceneReport, refs: Iterable[RawReference], context: ResolveContext) -> list[Dependency]:
    """Resolve ``refs`` into ``report``; return the dependencies that were new to it."""
    added = []
    for ref in refs:
        deps, warnings = resolve(ref, context)
        for warning in warnings:
            if warning not in report.warnings:
                report.warnings.append(warning)
        added.extend(dep for dep in deps if report.add(dep))
    return added


def build_report(scene: str, refs: Iterable[RawReference], context: ResolveContext | None = None) -> SceneReport:
    """The report for ``scene`` from the raw references a reader or an in-app collector found."""
    report = SceneReport(scene=os.path.abspath(scene))
    add_references(report, refs, context or ResolveContext())
    return report
