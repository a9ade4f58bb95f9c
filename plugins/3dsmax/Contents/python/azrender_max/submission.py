"""From the open 3ds Max scene to a :class:`~azrender.pipeline.SubmitRequest`, and the progress
shown while it runs."""

from __future__ import annotations

from pathlib import Path

from pymxs import runtime as rt

from azrender.errors import SceneError
from azrender.hosts.background import ProgressDriver
from azrender.hosts.submission import Prepared, collected_report, frame_range, prepare_request, submit_headless

from . import collect

# rendTimeType: 1 single frame, 2 active time segment, 3 range, 4 pick-up frames.
SINGLE, SEGMENT, RANGE, PICKUP = 1, 2, 3, 4


def saved_scene() -> str:
    scene = collect.scene_path()
    if not scene:
        raise SceneError("save the scene first: azrender submits a saved .max file")
    return scene


def scene_report():
    """The dependencies of the open scene as the core resolves them (what the dialog lists)."""
    return collected_report(saved_scene(), collect.raw_references())


def scene_frames() -> str:
    """The frames the Render Setup dialog would render, in azrender's frame syntax."""
    kind = rt.rendTimeType
    if kind == PICKUP:
        return str(rt.rendPickupFrames)  # already "1,3,5-12"
    if kind == RANGE:
        return frame_range(int(rt.rendStart.frame), int(rt.rendEnd.frame), max(1, int(rt.rendNThFrame)))
    if kind == SEGMENT:
        return frame_range(int(rt.animationRange.start.frame), int(rt.animationRange.end.frame),
                           max(1, int(rt.rendNThFrame)))
    return frame_range(int(rt.sliderTime.frame), int(rt.sliderTime.frame))


def build_request(**fields) -> Prepared:
    """Collect and check the saved scene; ``fields`` override the render settings. The saved file
    is what renders (3ds Max resolves assets from its folder, so it is not copied elsewhere):
    unsaved edits are refused rather than silently left out of the frames."""
    scene = saved_scene()
    if rt.getSaveRequired():
        raise SceneError(f"{Path(scene).name} has unsaved changes: save it, then submit")
    fields = {"frames": scene_frames(), "renderer": str(rt.classOf(rt.renderers.current)), **fields}
    return prepare_request(scene, collect.raw_references(), host="max", **fields)


def progress_bar() -> ProgressDriver:
    """3ds Max's status-bar progress showing a background call."""
    return ProgressDriver(
        start=lambda percent, text: (rt.progressStart(text), rt.progressUpdate(percent)),
        update=lambda percent, text: (rt.progressUpdate(percent), rt.replacePrompt(text)),
        end=rt.progressEnd,
    )


def submit(**fields):
    """Submit the open scene from a script or ``3dsmaxbatch``; returns the SubmitResult."""
    return submit_headless(build_request(**fields))
