"""Stand-in for ``maya.cmds``, answering from hand-written tables of what Maya holds for each test
scene (:mod:`maya.scenes`), never from azrender's own readers.

``open_scene(path, plugin_nodes=None, file_attributes=())`` plays the part of opening a scene in
Maya: its table (by file name) gives the nodes, their attribute values and the references;
``plugin_nodes`` adds nodes of a loaded studio plug-in whose ``file_attributes`` rows
``(node_type, attribute, kind)`` it registered with Maya's file path editor. Every scene also holds
Maya's startup nodes (render globals, resolution, the default render layer, the four cameras) with
Maya's defaults, which the table overrides. UI calls are appended to ``CALLS`` as ``(command, args, flags)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from maya.scenes import ATTRIBUTES, OTHER_TYPES, SCENES, STARTUP

CALLS: list[tuple] = []


@dataclass
class _Scene:
    path: str = ""
    modified: bool = False
    workspace: str = ""
    nodes: dict = field(default_factory=dict)  # name -> (type, {long attribute: value})
    references: dict = field(default_factory=dict)  # reference node -> path as written
    connections: dict = field(default_factory=dict)  # destination plug -> source nodes, in order
    attributes: dict = field(default_factory=dict)  # node type -> {long: (short, default, in file path editor)}
    parents: dict = field(default_factory=dict)  # shape -> its transform
    time: float = 1.0  # the current time
    images: str = "images"  # the project's images file rule


_scene = _Scene()


def open_scene(path: str, *, plugin_nodes=None, file_attributes=(), modified: bool = False) -> None:
    """Open ``path`` as Maya would (its table in :mod:`maya.scenes`, by file name)."""
    table = SCENES[os.path.basename(path)]
    attributes = {node_type: dict(attrs) for node_type, attrs in ATTRIBUTES.items()}
    for node_type, attribute, _kind in file_attributes:  # what the studio's plug-in registered
        attributes.setdefault(node_type, {})[attribute] = (attribute, "", True)
    workspace = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(os.path.join(workspace, "workspace.mel")) and os.path.dirname(workspace) != workspace:
        workspace = os.path.dirname(workspace)
    _scene.__init__(
        path=os.path.abspath(path).replace("\\", "/"), modified=modified,
        workspace=(workspace if os.path.exists(os.path.join(workspace, "workspace.mel")) else os.getcwd()) + "/",
        nodes={**STARTUP["nodes"], **table.get("nodes", {}), **(plugin_nodes or {})},
        references=dict(table.get("references", {})), attributes=attributes,
        connections={**STARTUP["connections"], **table.get("connections", {})},
        parents={**STARTUP["parents"], **table.get("parents", {})},
        time=table.get("time", 1.0), images=table.get("images", "images"),
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


def workspace(query=False, rootDirectory=False, fileRuleEntry=None):
    """``workspace -q -rootDirectory``: the project folder, with a trailing slash like Maya;
    ``workspace -fileRuleEntry images``: that rule's folder as the project sets it."""
    if fileRuleEntry == "images":
        return _scene.images
    return _scene.workspace


def currentTime(query=False):
    return _scene.time


def listRelatives(node, parent=False):
    """``listRelatives -parent``: a shape's transform (None for a node without one)."""
    return [_scene.parents[node]] if parent and node in _scene.parents else None


def allNodeTypes():
    """Every node type Maya knows (built-ins plus those of loaded plug-ins)."""
    return sorted(set(_scene.attributes) | OTHER_TYPES)


def ls(*args, type=None, long=False):
    """``ls -type T``: nodes of that type ([] for a known type with no nodes)."""
    if type == "reference":
        return list(_scene.references)
    return [name for name, (node_type, _) in _scene.nodes.items() if node_type == type]


def nodeType(node):
    return "reference" if node in _scene.references else _scene.nodes[node][0]


def _attribute(node_type: str, name: str):
    """(long name, default) of the node type's attribute called ``name`` (long or short), or None."""
    for long_name, (short, default, _) in _scene.attributes.get(node_type, {}).items():
        if name in (long_name, short):
            return long_name, default
    return None


def attributeQuery(attribute, node=None, exists=False):
    """``attributeQuery -exists``: long or short name of an attribute the node type has."""
    return _attribute(_scene.nodes[node][0], attribute) is not None


def getAttr(plug):
    """The attribute's value as Maya types it (int, bool, list or string); unset -> its default."""
    node_name, attribute = plug.split(".", 1)
    node_type, values = _scene.nodes[node_name]
    found = _attribute(node_type, attribute)
    if found is None:
        raise ValueError(f"No object matches name: {plug}")
    long_name, default = found
    return values.get(long_name, default)


def listConnections(plug, source=True, destination=True, type=None):
    """``listConnections PLUG -source -destination false [-type T]``: the nodes connected into
    ``plug`` or its children (of type ``T``), None when none, as Maya returns."""
    if destination:
        raise NotImplementedError("stand-in maya.cmds.listConnections: only -destination false")
    nodes = list(_scene.connections.get(plug, ()))
    return [n for n in nodes if type is None or _scene.nodes[n][0] == type] or None


def referenceQuery(reference_node, filename=False, withoutCopyNumber=False, unresolvedName=False):
    """``referenceQuery -filename -unresolvedName``: the reference's path as written."""
    if reference_node not in _scene.references:
        raise RuntimeError(f"Reference node '{reference_node}' is not associated with a reference file.")
    return _scene.references[reference_node]


def filePathEditor(query=False, listDirectories=None, listFiles=None, withAttribute=False):
    """Maya's file path editor: every path attribute Maya knows, as (directory, file name, plug)."""
    entries = []
    for name, (node_type, values) in _scene.nodes.items():
        for long_name, value in values.items():
            listed = _scene.attributes.get(node_type, {}).get(long_name, (None, None, False))[2]
            if listed and value:
                directory, base = os.path.split(value)
                entries.append((directory, base, f"{name}.{long_name}"))
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
