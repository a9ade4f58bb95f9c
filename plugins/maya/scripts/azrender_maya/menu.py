"""The "Azure" menu in Maya's main window."""

from __future__ import annotations

from maya import cmds

MENU = "azrenderMenu"


def install() -> None:
    remove()
    cmds.menu(MENU, label="Azure", parent="MayaWindow", tearOff=True)
    cmds.menuItem(label="Render on Azure…", parent=MENU, annotation="Render this scene on Azure Batch",
                  command="import azrender_maya.dialog; azrender_maya.dialog.show()", sourceType="python")


def remove() -> None:
    if cmds.menu(MENU, exists=True):
        cmds.deleteUI(MENU, menu=True)
