"""Which Maya node attributes hold file paths: a table keyed by node type *and* attribute.

An attribute name alone means nothing (``defaultHardwareRenderGlobals.fn`` is a file-name prefix,
``camera.imn`` an image name), so every row names its node type. The Maya ASCII/Binary readers and
the in-Maya collector (``maya.cmds``) share this table; a TD adds rows for studio nodes with the
``azrender_maya_path_attributes`` hook.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from azrender.discovery.model import Kind
from azrender.discovery.resolve import RawReference


@dataclass(frozen=True)
class PathAttribute:
    """One node type's path attribute: ``names`` is the long name first, then the short name
    (Maya ASCII files usually hold the short one)."""

    node_type: str
    names: tuple[str, ...]
    kind: Kind


BUILTIN_ROWS: tuple[PathAttribute, ...] = (
    PathAttribute("file", ("fileTextureName", "ftn"), Kind.TEXTURE),
    PathAttribute("psdFileTex", ("fileTextureName", "ftn"), Kind.TEXTURE),
    PathAttribute("movie", ("fileTextureName", "ftn"), Kind.MOVIE),
    PathAttribute("imagePlane", ("imageName", "imn"), Kind.TEXTURE),
    PathAttribute("AlembicNode", ("abc_File", "fn"), Kind.CACHE),
    PathAttribute("AlembicNode", ("abc_layerFiles", "fns"), Kind.CACHE),
    PathAttribute("ExocortexAlembicFile", ("fileName",), Kind.CACHE),
    PathAttribute("gpuCache", ("cacheFileName", "cfn"), Kind.CACHE),
    PathAttribute("audio", ("filename", "f"), Kind.SOUND),
    PathAttribute("mayaUsdProxyShape", ("filePath", "fp"), Kind.CACHE),
    PathAttribute("aiImage", ("filename",), Kind.TEXTURE),
    PathAttribute("aiStandIn", ("dso",), Kind.CACHE),
    PathAttribute("aiVolume", ("filename",), Kind.VOLUME),
    PathAttribute("aiPhotometricLight", ("aiFilename",), Kind.OTHER),
    PathAttribute("PxrTexture", ("filename",), Kind.TEXTURE),
    PathAttribute("PxrPtexture", ("filename",), Kind.TEXTURE),
    PathAttribute("PxrDomeLight", ("lightColorMap",), Kind.TEXTURE),
    PathAttribute("PxrRectLight", ("lightColorMap",), Kind.TEXTURE),
    PathAttribute("VRayMesh", ("fileName", "fn"), Kind.CACHE),
    PathAttribute("RedshiftProxyMesh", ("fileName",), Kind.CACHE),
    PathAttribute("RedshiftVolumeShape", ("fileName",), Kind.VOLUME),
    PathAttribute("RedshiftNormalMap", ("tex0",), Kind.TEXTURE),
    PathAttribute("RedshiftDomeLight", ("tex0",), Kind.TEXTURE),
    PathAttribute("RedshiftSprite", ("tex0",), Kind.TEXTURE),
    PathAttribute("RedshiftIESLight", ("profile",), Kind.OTHER),
    PathAttribute("cacheFile", ("cachePath", "cp"), Kind.CACHE),  # a folder; see CACHE_FILE_NAME
)

# cacheFile (nCache / geometry cache) keeps a folder and a base name: the files are
# <cachePath>/<cacheName>.xml plus its .mc/.mcx data files beside it.
CACHE_FILE_NAME = ("cacheName", "cn")

# Attributes that turn one stored path into many files.
UV_TILING_MODE = {"file": ("uvTilingMode", "uvt"), "psdFileTex": ("uvTilingMode", "uvt")}
USE_FRAME_EXTENSION = {
    "file": ("useFrameExtension", "ufe"),
    "psdFileTex": ("useFrameExtension", "ufe"),
    "imagePlane": ("useFrameExtension", "ufe"),
    "aiStandIn": ("useFrameExtension",),
    "aiVolume": ("useFrameExtension",),
}


@dataclass(frozen=True)
class PathTable:
    """node type -> {attribute name (long or short) -> row}."""

    rows: dict[str, dict[str, PathAttribute]]

    def lookup(self, node_type: str, attribute: str) -> PathAttribute | None:
        by_name = self.rows.get(node_type)
        return by_name.get(attribute) if by_name else None

    def __contains__(self, node_type: str) -> bool:
        return node_type in self.rows

    @property
    def node_types(self) -> list[str]:
        return list(self.rows)


def build_table(extra: Iterable = ()) -> PathTable:
    """The built-in rows plus ``extra`` (``PathAttribute`` or ``(node_type, attribute, kind)``)."""
    rows: dict[str, dict[str, PathAttribute]] = {}
    for row in (*BUILTIN_ROWS, *extra):
        if not isinstance(row, PathAttribute):
            node_type, attribute, kind = row
            row = PathAttribute(node_type, (attribute,), Kind(kind))
        for name in row.names:
            rows.setdefault(row.node_type, {})[name] = row
    return PathTable(rows)


def path_table(plugin_manager=None) -> PathTable:
    """The table with every row plugins add through ``azrender_maya_path_attributes``."""
    if plugin_manager is None:
        from azrender.plugins import get_plugin_manager

        plugin_manager = get_plugin_manager()
    extra = [row for result in plugin_manager.hook.azrender_maya_path_attributes() for row in (result or ())]
    return build_table(extra)


# get(attribute name) -> the attribute's value (str, number, bool, or a list for string arrays),
# or None when the node does not have it set.
AttributeGetter = Callable[[str], Any]
_TRUE = {"yes", "on", "true", "1"}


def _first(get: AttributeGetter, names: Iterable[str]) -> Any:
    for name in names:
        value = get(name)
        if value is not None:
            return value
    return None


def _tiling_mode(value: Any) -> int | None:
    try:
        return int(value) or None
    except (TypeError, ValueError):
        return None


def node_references(table: PathTable, node: str, node_type: str, get: AttributeGetter, scene: str) -> list[RawReference]:
    """The files one node uses, as the scene holds their paths — the same rules for the Maya ASCII
    reader (values from ``setAttr``) and the in-Maya collector (values from ``maya.cmds.getAttr``)."""
    rows = {id(row): row for row in table.rows.get(node_type, {}).values()}.values()
    if not rows:
        return []
    sequence = str(_first(get, USE_FRAME_EXTENSION.get(node_type, ())) or "").lower() in _TRUE
    tiles = _tiling_mode(_first(get, UV_TILING_MODE.get(node_type, ())))
    refs = []
    for row in rows:
        value = _first(get, row.names)
        for path in value if isinstance(value, (list, tuple)) else [value]:
            if not path:
                continue
            if node_type == "cacheFile":  # a folder plus a base name: the .xml describes the rest
                name = _first(get, CACHE_FILE_NAME)
                if not name:
                    continue
                path = posixpath.join(str(path).replace("\\", "/"), f"{name}.xml")
            refs.append(RawReference(str(path), row.kind, f"{node}.{row.names[0]}", scene, "maya",
                                     sequence=sequence, tiles=tiles))
    return refs
