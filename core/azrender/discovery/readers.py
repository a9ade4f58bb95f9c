"""What a scene reader is: a :class:`Scanner` (the extensions it reads and its ``scan`` function)
returning a :class:`Reading` (the raw paths one file holds). Readers register through the
``azrender_scanners`` hook; azrender's own do so from :mod:`azrender.discovery.builtin`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azrender.discovery.resolve import RawReference, ResolveContext


@dataclass(frozen=True)
class Reading:
    """What a reader found in one file."""

    references: tuple[RawReference, ...]
    warnings: tuple[str, ...] = ()
    best_effort: bool = False  # the format could not be read exhaustively (Maya Binary)


@dataclass(frozen=True)
class ScanContext:
    """What a reader may consult besides the file: the plugins (e.g. extra Maya table rows) and
    the user's resolution settings."""

    plugin_manager: Any
    resolve: ResolveContext


@dataclass(frozen=True)
class Scanner:
    """A scene reader: ``scan(path, context) -> Reading``; raises :class:`SceneError` for a bad file.

    extensions: lower-case, with the dot (``(".ma",)``).
    follows_nested: the reader already reads the nested files it needs (Blender libraries through
        blender-asset-tracer), so discovery must not queue them again.
    """

    name: str
    extensions: tuple[str, ...]
    scan: Callable[[str, ScanContext], Reading]
    follows_nested: bool = False
