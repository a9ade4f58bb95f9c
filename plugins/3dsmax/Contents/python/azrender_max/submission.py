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
    """The frames the Render Setup dialog would render, in azrender's frame syntax (Every Nth
    Frame applies to the active time segment and a range only: MAXScript Help, "Render Setup
    Dialog", rendTimeType/rendNThFrame/rendPickupFrames)."""
    kind = rt.rendTimeType
    if kind == PICKUP:
        return str(rt.rendPickupFrames).strip()  # "1,3,5-12", the syntax azrender reads
    step = max(1, int(rt.rendNThFrame))
    if kind == RANGE:
        start, end = int(rt.rendStart.frame), int(rt.rendEnd.frame)
    elif kind == SEGMENT:
        start, end = int(rt.animationRange.start.frame), int(rt.animationRange.end.frame)
    else:
        return frame_range(int(rt.sliderTime.frame), int(rt.sliderTime.frame))
    return frame_range(start, end, step)


def _extension(path: str) -> str:
    """A file's format as its extension names it (3ds Max picks the writer by it); PNG without one."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else "png"


def _saved_elements(output: str):
    """The render elements 3ds Max writes files for: only with Save File on, elements active, the
    element enabled and given a file (0-based indices, as the element manager numbers them)."""
    from azrender.rendersettings.model import FileOutput, ImageFormat

    manager = rt.maxOps.GetCurRenderElementMgr()
    if not output or not manager.GetElementsActive():
        return ()
    elements = []
    for index in range(manager.NumRenderElements()):
        element, path = manager.GetRenderElement(index), str(manager.GetRenderElementFilename(index) or "")
        if path and element.enabled:
            kind = _extension(path)
            elements.append(FileOutput(str(element.elementName), (path,), ImageFormat(kind, kind), index=index))
    return tuple(elements)


def render_settings():
    """The open scene's render settings as Render Setup holds them (the core's model): output
    file and format, frames, resolution, camera, renderer and render elements with their files."""
    from azrender.jobs.frames import parse_frames
    from azrender.rendersettings.model import ImageFormat, RenderSettings

    text = scene_frames()
    frames = parse_frames(text)
    output = str(rt.rendOutputFilename or "") if rt.rendSaveFile else ""
    extension = _extension(output)
    camera = rt.viewport.getCamera()
    return RenderSettings(
        host="max", renderer=str(rt.classOf(rt.renderers.current)), frame_start=frames[0], frame_end=frames[-1],
        frame_step=1 if rt.rendTimeType == PICKUP else max(1, int(rt.rendNThFrame)),
        frame_list=text if rt.rendTimeType == PICKUP else "", animation=rt.rendTimeType != SINGLE,
        output_path=output, image_format=ImageFormat(extension, extension),
        resolution=(int(rt.renderWidth), int(rt.renderHeight)),
        cameras=(str(camera.name),) if camera is not None else (), file_outputs=_saved_elements(output),
        scene_name=Path(collect.scene_path()).stem)


def build_request(**fields) -> Prepared:
    """Collect and check the saved scene; ``fields`` override the render settings. The saved file
    is what renders (3ds Max resolves assets from its folder, so it is not copied elsewhere):
    unsaved edits are refused rather than silently left out of the frames."""
    scene = saved_scene()
    if rt.getSaveRequired():
        raise SceneError(f"{Path(scene).name} has unsaved changes: save it, then submit")
    fields = {"frames": scene_frames(), "renderer": str(rt.classOf(rt.renderers.current)),
              "render_settings": render_settings(), **fields}
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
