"""The "Render on Azure" dialog in 3ds Max: the core's Qt dialog, parented to the 3ds Max main
window, with 3ds Max's progress bar."""

from __future__ import annotations

from . import submission

_dialog = None


def show():
    global _dialog
    from azrender.hosts import qt_dialog

    if _dialog is None:
        from qtmax import GetQMaxMainWindow

        actions = qt_dialog.HostActions(
            scene_report=submission.scene_report, build_request=submission.build_request,
            default_frames=submission.scene_frames, progress=submission.progress_bar)
        _dialog = qt_dialog.SubmitDialog(actions, GetQMaxMainWindow())
    qt_dialog.show(_dialog)
