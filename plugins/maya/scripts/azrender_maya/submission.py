"""From the open Maya scene to a :class:`~azrender.pipeline.SubmitRequest`, and the progress shown
while it runs."""

from __future__ import annotations

from pathlib import Path

from maya import cmds

from azrender.errors import SceneError
from azrender.hosts.background import ProgressDriver
from azrender.hosts.submission import Prepared, collected_report, prepare_request, submit_headless

from . import collect, render_settings


def saved_scene() -> str:
    scene = collect.scene_path()
    if not scene:
        raise SceneError("save the scene first: azrender submits a saved Maya scene")
    return scene


def project_root() -> str:
    return cmds.workspace(query=True, rootDirectory=True)


def scene_report():
    """The dependencies of the open scene as the core resolves them (what the dialog lists)."""
    return collected_report(saved_scene(), collect.raw_references(), project=project_root())


def scene_defaults() -> dict:
    """The scene's frames (the dialog shows them) and render settings: renderer, layers, cameras,
    names and Arnold's AOVs as Maya holds them (a referenced rig's too). A saved ``.ma`` (what
    renders: unsaved edits are refused) is read by the core itself; Maya Binary, which only Maya
    reads, through ``maya.cmds``."""
    if saved_scene().lower().endswith(".ma"):
        from azrender.rendersettings.maya import read_maya_settings

        settings = render_settings.with_held_aovs(read_maya_settings(saved_scene()))
    else:
        settings = render_settings.read_settings()
    return {"frames": settings.frames, "render_settings": settings}


def build_request(**fields) -> Prepared:
    """Collect and check the saved scene; ``fields`` override the render settings. The saved file
    is what renders (the path-mapping stage copies it for the nodes), so unsaved edits are refused
    rather than silently left out of the frames."""
    scene = saved_scene()
    if cmds.file(query=True, modified=True):
        raise SceneError(f"{Path(scene).name} has unsaved changes: save it, then submit")
    fields = {**scene_defaults(), "project": Path(project_root()), **fields}
    return prepare_request(scene, collect.raw_references(), host="maya", **fields)


def progress_window(title: str = "azrender") -> ProgressDriver:
    """Maya's ``progressWindow`` showing a background call."""
    return ProgressDriver(
        start=lambda percent, text: cmds.progressWindow(title=title, progress=percent, status=text, isInterruptable=False),
        update=lambda percent, text: cmds.progressWindow(edit=True, progress=percent, status=text),
        end=lambda: cmds.progressWindow(endProgress=True),
    )


def submit(**fields):
    """Submit the open scene from a script or ``mayapy``; returns the SubmitResult."""
    return submit_headless(build_request(**fields))
