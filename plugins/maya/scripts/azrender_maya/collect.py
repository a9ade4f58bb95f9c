"""Every file the open Maya scene uses, read through ``maya.cmds``: nodes from the shared node
table (the same rows the headless Maya reader uses, TD rows included), references (nested and
unloaded ones too), then ``filePathEditor`` for nodes the table does not know. And Arnold's AOV
settings as Maya holds them (the core decides what they render)."""

from __future__ import annotations

import os

from maya import cmds

from azrender.discovery.maya_nodes import path_table
from azrender.discovery.model import Kind
from azrender.discovery.resolve import RawReference
from azrender.discovery.maya_nodes import node_references


def scene_path() -> str:
    return cmds.file(query=True, sceneName=True) or ""


def _getter(node: str):
    def get(attribute: str):
        if not cmds.attributeQuery(attribute, node=node, exists=True):
            return None
        return cmds.getAttr(f"{node}.{attribute}")

    return get


def _table_references(scene: str) -> list[RawReference]:
    table = path_table()
    refs = []
    known_types = set(cmds.allNodeTypes() or ())
    for node_type in table.node_types:
        if node_type not in known_types:  # its plug-in is not loaded: no such nodes in this scene
            continue
        for node in cmds.ls(type=node_type, long=False) or ():
            refs.extend(node_references(table, node, node_type, _getter(node), scene))
    return refs


def _scene_references(scene: str) -> list[RawReference]:
    refs = []
    for ref_node in cmds.ls(type="reference") or ():
        if ref_node == "sharedReferenceNode" or ref_node.startswith("_UNKNOWN_REF_NODE_"):
            continue
        try:
            path = cmds.referenceQuery(ref_node, filename=True, withoutCopyNumber=True, unresolvedName=True)
        except RuntimeError:  # a reference node with no file (left behind by a removed reference)
            continue
        refs.append(RawReference(path=path, kind=Kind.REFERENCE, source=ref_node, scene=scene, host="maya"))
    return refs


def _file_path_editor(scene: str, claimed_nodes: set[str]) -> list[RawReference]:
    refs = []
    for directory in cmds.filePathEditor(query=True, listDirectories="") or ():
        listing = cmds.filePathEditor(query=True, listFiles=directory, withAttribute=True) or []
        for name, plug in zip(listing[::2], listing[1::2]):
            node = plug.split(".", 1)[0]
            if node in claimed_nodes or cmds.nodeType(node) == "reference":
                continue
            refs.append(RawReference(path=os.path.join(directory, name).replace("\\", "/"), kind=Kind.OTHER,
                                     source=plug, scene=scene, host="maya"))
    return refs


def raw_references() -> list[RawReference]:
    scene = scene_path()
    refs = _table_references(scene) + _scene_references(scene)
    claimed = {ref.source.split(".", 1)[0] for ref in refs}
    return refs + _file_path_editor(scene, claimed)


def arnold_aovs():
    """MtoA's AOV settings as Maya holds them now (AOVs of referenced render rigs included), as an
    :class:`~azrender.rendersettings.arnold.ArnoldAovs`; None when MtoA never set the scene up."""
    from azrender.rendersettings.arnold import ArnoldAovs

    if "defaultArnoldRenderOptions" not in (cmds.ls(type="aiOptions") or ()):
        return None
    nodes = cmds.listConnections("defaultArnoldRenderOptions.aovList", source=True, destination=False) or ()
    return ArnoldAovs(mode=int(cmds.getAttr("defaultArnoldRenderOptions.aovMode")),
                      aovs=tuple((cmds.getAttr(f"{node}.name"), bool(cmds.getAttr(f"{node}.enabled")),
                                  tuple(cmds.listConnections(f"{node}.outputs", source=True, destination=False,
                                                             type="aiAOVDriver") or ()))
                                 for node in nodes),
                      merge=bool(cmds.getAttr("defaultArnoldDriver.mergeAOVs")),
                      translator=cmds.getAttr("defaultArnoldDriver.aiTranslator") or "exr")
