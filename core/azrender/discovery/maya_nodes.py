"""Which Maya node attributes hold file paths: a table keyed by node type *and* attribute.

An attribute name alone means nothing (``defaultHardwareRenderGlobals.fn`` is a file-name prefix,
``camera.imn`` an image name), so every row names its node type. The Maya ASCII/Binary readers and
the in-Maya collector (``maya.cmds``) share this table; a TD adds rows for studio nodes with the
``azrender_maya_path_attributes`` hook.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from azrender.discovery.model import Kind


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
