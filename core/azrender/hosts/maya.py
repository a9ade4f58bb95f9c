"""Maya node attributes -> raw references, with no Maya import: the in-Maya collector reads
attributes through ``maya.cmds`` and hands them here, so the rules (node type *and* attribute from
the shared table, frame sequences, UDIM tiles, cacheFile folder plus name) live in one place.
"""

from __future__ import annotations

import posixpath
from typing import Any, Callable

from azrender.discovery import maya_nodes
from azrender.discovery.resolve import RawReference

# get(attribute) -> the attribute's value, or None when the node has no such attribute.
AttributeGetter = Callable[[str], Any]


def _rows(table: maya_nodes.PathTable, node_type: str) -> list[maya_nodes.PathAttribute]:
    unique: dict[int, maya_nodes.PathAttribute] = {}
    for row in table.rows.get(node_type, {}).values():
        unique.setdefault(id(row), row)
    return list(unique.values())


def _first(get: AttributeGetter, names: tuple[str, ...]) -> Any:
    for name in names:
        value = get(name)
        if value is not None:
            return value
    return None


def node_references(table: maya_nodes.PathTable, node: str, node_type: str, get: AttributeGetter,
                    scene: str) -> list[RawReference]:
    """The files one node of ``node_type`` uses, as Maya holds their paths."""
    refs = []
    sequence = bool(_first(get, maya_nodes.USE_FRAME_EXTENSION.get(node_type, ())) or False)
    tiles = int(_first(get, maya_nodes.UV_TILING_MODE.get(node_type, ())) or 0) or None
    for row in _rows(table, node_type):
        value = _first(get, row.names)
        values = value if isinstance(value, (list, tuple)) else [value]
        for path in values:
            if not path:
                continue
            if node_type == "cacheFile":  # a folder plus a base name: the .xml describes the rest
                name = _first(get, maya_nodes.CACHE_FILE_NAME)
                if not name:
                    continue
                path = posixpath.join(path.replace("\\", "/"), f"{name}.xml")
            refs.append(RawReference(path=path, kind=row.kind, source=f"{node}.{row.names[0]}", scene=scene,
                                     host="maya", sequence=sequence, tiles=tiles))
    return refs
