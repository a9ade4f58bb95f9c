"""Records passed from discovery to every later stage.

A :class:`Dependency` is one file (or one unresolvable path) a scene needs; a :class:`SceneReport`
is the deduplicated, stably ordered result of scanning one scene.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Kind(str, enum.Enum):
    TEXTURE = "texture"
    REFERENCE = "reference"  # Maya references, 3ds Max XRefs
    LIBRARY = "library"  # Blender linked libraries
    CACHE = "cache"  # Alembic, point caches, gpuCache, USD stages, proxies
    VOLUME = "volume"  # OpenVDB
    SOUND = "sound"
    FONT = "font"
    MOVIE = "movie"
    OTHER = "other"


@dataclass(frozen=True)
class Dependency:
    """One file a scene needs.

    path: resolved absolute path when resolution succeeded, else the path as written.
    exists: the file is on disk at ``path``.
    kind: what the scene uses it for.
    source: where it came from, e.g. ``file1.ftn`` or ``IM:wood.png`` (a node.attribute or datablock).
    size: bytes, or None when missing.
    resolved_by: how ``path`` was found: ``absolute``, ``scene-relative``, ``project-relative``,
        ``blend-relative``, ``env``, ``beside-scene``, ``search-path``, ``stored-path``, ``unresolved``.
    pattern: the token pattern this file was expanded from (``tex.<UDIM>.png``), or None.
    scene: the scene file that references it (the top scene or a nested reference/library).
    """

    path: str
    exists: bool
    kind: Kind = Kind.OTHER
    source: str = ""
    size: int | None = None
    resolved_by: str = "absolute"
    pattern: str | None = None
    scene: str | None = None

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "exists": self.exists,
            "kind": self.kind.value,
            "size": self.size,
            "source": self.source,
            "resolved_by": self.resolved_by,
            "pattern": self.pattern,
        }


@dataclass
class SceneReport:
    """What a scene needs. ``dependencies`` is deduplicated by path, in first-seen order."""

    scene: str
    dependencies: list[Dependency] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    best_effort: bool = False  # the reader could not be exhaustive (e.g. Maya Binary)
    _seen: set = field(default_factory=set, repr=False, compare=False)

    def add(self, dep: Dependency) -> bool:
        """Add ``dep`` unless its path is already listed; return whether it was added."""
        if not self._seen and self.dependencies:
            self._seen.update(d.path for d in self.dependencies)
        if dep.path in self._seen:
            return False
        self._seen.add(dep.path)
        self.dependencies.append(dep)
        return True

    @property
    def missing(self) -> list[str]:
        return [d.path for d in self.dependencies if not d.exists]

    @property
    def total_size(self) -> int:
        return sum(d.size or 0 for d in self.dependencies)

    def to_json(self) -> dict:
        return {
            "scene": self.scene,
            "dependencies": [d.to_json() for d in self.dependencies],
            "missing": self.missing,
            "warnings": list(self.warnings),
            "best_effort": self.best_effort,
        }
