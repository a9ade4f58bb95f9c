"""The "Render on Azure" dialog in Maya: the core's Qt dialog, parented to Maya's main window,
with Maya's ``progressWindow`` and an in-view message when the job is submitted."""

from __future__ import annotations

from maya import cmds

from . import submission

_dialog = None


def _maya_window():
    from maya import OpenMayaUI

    try:
        from shiboken6 import wrapInstance
        from PySide6 import QtWidgets
    except ImportError:  # Maya 2024
        from shiboken2 import wrapInstance
        from PySide2 import QtWidgets
    return wrapInstance(int(OpenMayaUI.MQtUtil.mainWindow()), QtWidgets.QWidget)


def show():
    global _dialog
    from azrender.hosts import qt_dialog

    if _dialog is None:
        actions = qt_dialog.HostActions(
            scene_report=submission.scene_report, build_request=submission.build_request,
            default_frames=lambda: submission.scene_defaults()["frames"], progress=submission.progress_window,
            notify=lambda message: cmds.inViewMessage(assistMessage=message, position="topCenter", fade=True))
        _dialog = qt_dialog.SubmitDialog(actions, _maya_window())
    qt_dialog.show(_dialog)
