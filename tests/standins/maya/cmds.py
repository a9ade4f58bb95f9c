"""Stand-in for ``maya.cmds``, answering from a real Maya ASCII scene read by the azrender core.

``open_scene(path, file_attributes=())`` plays the part of opening a scene in Maya: the core's
Maya ASCII reader (with the node table plus ``file_attributes``, the extra path attributes that
plug-in node types registered with Maya's file path editor) gives the nodes, their attribute
values and the references. Render settings answer Maya's defaults unless the scene set them.
UI calls are appended to ``CALLS`` as ``(command, args, flags)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from azrender.discovery import maya_ascii, maya_nodes

CALLS: list[tuple] = []


@dataclass
class _Scene:
    path: str = ""
    modified: bool = False
    workspace: str = ""
    nodes: dict = field(default_factory=dict)  # name -> maya_ascii._Node (type, values)
    references: dict = field(default_factory=dict)  # reference node -> path as written
    file_attributes: maya_nodes.PathTable = None


_scene = _Scene()
# Maya's defaults for the render settings the plug-in reads (Maya 2023).
RENDER_DEFAULTS = {"startFrame": 1.0, "endFrame": 10.0, "byFrameStep": 1.0, "currentRenderer": "arnold"}
BUILTIN_TYPES = {"reference", "transform", "mesh", "camera", "file", "place2dTexture", "shadingEngine"}


def open_scene(path: str, *, file_attributes=(), modified: bool = False) -> None:
    """Open ``path`` (Maya ASCII) as Maya would; ``file_attributes`` are extra
    ``(node_type, attribute, kind)`` rows Maya knows as file paths (registered plug-in nodes)."""
    table = maya_nodes.build_table(file_attributes)
    readers = []

    class Recording(maya_ascii._Reader):  # keep the reader to answer node queries from it
        def __init__(self, *args):
            super().__init__(*args)
            readers.append(self)

    original, maya_ascii._Reader = maya_ascii._Reader, Recording
    try:
        with open(path, "rb") as handle:
            text, _ = maya_ascii.decode(handle.read(), path)
        references = maya_ascii.parse(text, path, table)
    finally:
        maya_ascii._Reader = original
    reader = readers[0]
    workspace = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(os.path.join(workspace, "workspace.mel")) and os.path.dirname(workspace) != workspace:
        workspace = os.path.dirname(workspace)
    _scene.__init__(
        path=os.path.abspath(path).replace("\\", "/"), modified=modified,
        workspace=(workspace if os.path.exists(os.path.join(workspace, "workspace.mel")) else os.getcwd()) + "/",
        nodes={node.name: node for node in reader.nodes},
        references={ref.source: ref.path for ref in references if ref.kind.value == "reference"},
        file_attributes=table,
    )
    CALLS.clear()


# ---- scene queries -----------------------------------------------------------------------------


def file(*args, query=False, sceneName=False, modified=False, **flags):
    """``file -q -sceneName`` (the open scene, '' when untitled) and ``file -q -modified``."""
    if query and sceneName:
        return _scene.path
    if query and modified:
        return _scene.modified
    raise NotImplementedError(f"stand-in maya.cmds.file{args, flags}")


def workspace(query=False, rootDirectory=False):
    """``workspace -q -rootDirectory``: the project folder, with a trailing slash like Maya."""
    return _scene.workspace


def allNodeTypes():
    """Every node type Maya knows (built-ins plus those of loaded plug-ins)."""
    return sorted(BUILTIN_TYPES | set(_scene.file_attributes.node_types))


def ls(*args, type=None, long=False):
    """``ls -type T``: nodes of that type ([] for a known type with no nodes)."""
    if type == "reference":
        return list(_scene.references)
    return [name for name, node in _scene.nodes.items() if node.type == type]


def nodeType(node):
    return "reference" if node in _scene.references else _scene.nodes[node].type


def _names(node_type: str, attribute: str) -> tuple[str, ...]:
    """All names (long, short) of ``attribute`` if the node type has it, else ()."""
    row = _scene.file_attributes.lookup(node_type, attribute)
    if row is not None:
        return row.names
    for table in (maya_nodes.UV_TILING_MODE, maya_nodes.USE_FRAME_EXTENSION, {"cacheFile": maya_nodes.CACHE_FILE_NAME}):
        if attribute in table.get(node_type, ()):
            return table[node_type]
    return ()


def _numeric(node_type: str, names: tuple[str, ...]) -> bool:
    return names in (maya_nodes.UV_TILING_MODE.get(node_type), maya_nodes.USE_FRAME_EXTENSION.get(node_type))


def attributeQuery(attribute, node=None, exists=False):
    """``attributeQuery -exists``: long or short name of an attribute the node type has."""
    return bool(_names(_scene.nodes[node].type, attribute))


def getAttr(plug):
    """The attribute's value as Maya types it: int for uvTilingMode, bool for useFrameExtension,
    a list for multi string attributes (``abc_layerFiles``), else a string; unset -> default."""
    node_name, attribute = plug.split(".", 1)
    if node_name == "defaultRenderGlobals":
        return RENDER_DEFAULTS[attribute]
    node = _scene.nodes[node_name]
    names = _names(node.type, attribute)
    written = next((node.values[n] for n in names if node.values.get(n)), None)
    if _numeric(node.type, names):
        value = (written or ["0"])[-1].lower()
        return int(value) if value.isdigit() else value in {"yes", "on", "true"}
    if node.type == "AlembicNode" and "fns" in names:
        return list(written or [])
    return written[0] if written else ""


def referenceQuery(reference_node, filename=False, withoutCopyNumber=False, unresolvedName=False):
    """``referenceQuery -filename -unresolvedName``: the reference's path as written."""
    if reference_node not in _scene.references:
        raise RuntimeError(f"Reference node '{reference_node}' is not associated with a reference file.")
    return _scene.references[reference_node]


def filePathEditor(query=False, listDirectories=None, listFiles=None, withAttribute=False):
    """Maya's file path editor: every path attribute Maya knows, as (directory, file name, plug)."""
    entries = []
    for name, node in _scene.nodes.items():
        for attribute, values in node.values.items():
            row = _scene.file_attributes.lookup(node.type, attribute)
            if row is not None and values and values[0]:
                directory, base = os.path.split(values[0])
                entries.append((directory, base, f"{name}.{row.names[0]}"))
    if listDirectories is not None:
        return sorted({directory for directory, _, _ in entries}) or None
    listing = []
    for directory, base, plug in entries:
        if directory == listFiles:
            listing += [base, plug] if withAttribute else [base]
    return listing or None


# ---- UI (recorded) -----------------------------------------------------------------------------

_menus: set = set()


def menu(name, exists=False, **flags):
    """``menu NAME -exists`` or create the menu ``NAME`` (recorded)."""
    if exists:
        return name in _menus
    _menus.add(name)
    CALLS.append(("menu", (name,), flags))
    return name


def deleteUI(name, menu=False):
    _menus.discard(name)
    CALLS.append(("deleteUI", (name,), {"menu": menu}))


def menuItem(*args, **flags):
    CALLS.append(("menuItem", args, flags))


def progressWindow(*args, **flags):
    CALLS.append(("progressWindow", args, flags))


def inViewMessage(*args, **flags):
    CALLS.append(("inViewMessage", args, flags))
