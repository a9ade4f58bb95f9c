"""The render-settings model: small frozen records, the same for every host.

Paths are kept exactly as the scene writes them (Blender ``//render/sh010_``, a Maya prefix with
its ``<Scene>`` tokens, a 3ds Max output file); :mod:`azrender.rendersettings.outputs` expands them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ImageFormat:
    """How frames are written. ``kind`` is the host's own name (Blender ``OPEN_EXR_MULTILAYER``,
    Maya ``exr``, 3ds Max ``png``); ``extension`` without its dot; ``movie`` for formats that write
    one file per chunk; ``multilayer`` when every layer and pass lands in one file."""

    kind: str
    extension: str
    color_depth: str | None = None
    codec: str | None = None
    quality: int | None = None
    color_mode: str | None = None
    movie: bool = False
    multilayer: bool = False


@dataclass(frozen=True)
class ColorManagement:
    """The scene's view as saved (Blender: Color Management panel); the node renders with it."""

    view_transform: str = ""
    look: str = ""
    exposure: float = 0.0
    gamma: float = 1.0
    display_device: str = ""


@dataclass(frozen=True)
class RenderLayer:
    """A layer the scene renders (Blender view layer, Maya render layer) and its passes/AOVs."""

    name: str
    renderable: bool = True
    passes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileOutput:
    """A compositor File Output node (Blender) or a render element with its own path (3ds Max):
    ``paths`` are the file-name templates it writes, each already joined to its folder."""

    name: str
    paths: tuple[str, ...]
    image_format: ImageFormat
    base_path: str = ""  # the node's folder (Blender), which the task redirects under its output folder
    index: int | None = None  # 3ds Max: the element's 0-based index in the render element manager


@dataclass(frozen=True)
class CameraMarker:
    frame: int
    camera: str


@dataclass(frozen=True)
class RenderSettings:
    host: str  # blender | maya | max
    renderer: str  # CYCLES, BLENDER_EEVEE, arnold, mayaSoftware, ...
    frame_start: int
    frame_end: int
    frame_step: int = 1
    frame_list: str = ""  # frames that are no range (3ds Max pick-up frames "1,3,5-12"), as --frames takes them
    animation: bool = True  # False: the scene renders its current frame only (Maya animation off)
    output_path: str = ""  # the template as the scene writes it
    image_format: ImageFormat = ImageFormat("PNG", "png")
    resolution: tuple[int, int] = (0, 0)
    resolution_percentage: int = 100
    layers: tuple[RenderLayer, ...] = ()
    cameras: tuple[str, ...] = ()  # renderable cameras (Blender: the active one)
    camera_markers: tuple[CameraMarker, ...] = ()
    file_outputs: tuple[FileOutput, ...] = ()
    separate_layers: bool = False  # the renderer renders each layer (x camera) in its own run
    single_layer: str | None = None  # Blender use_single_layer: only this (the active) view layer
    frame_padding: int = 4
    use_extension: bool = True
    images_folder: str | None = None  # Maya: the project's images folder
    project: str | None = None
    samples: int | None = None
    scene_name: str = ""  # the scene file's stem (Maya's <Scene>)
    color_management: ColorManagement | None = None

    @property
    def frames(self) -> str:
        """The scene's frames as ``--frames`` takes them."""
        if self.frame_list:
            return self.frame_list
        if self.frame_end <= self.frame_start:
            return str(self.frame_start)
        return f"{self.frame_start}-{self.frame_end}" + (f"x{self.frame_step}" if self.frame_step > 1 else "")

    @property
    def renderable_layers(self) -> tuple[RenderLayer, ...]:
        if self.single_layer is not None:
            return tuple(layer for layer in self.layers if layer.name == self.single_layer)
        return tuple(layer for layer in self.layers if layer.renderable)

    def to_json(self) -> dict:
        return json.loads(json.dumps(asdict(self)))  # lists, as every reader of the plan's JSON sees them


@dataclass(frozen=True)
class Overrides:
    """The few things an artist changes per submission (``--override KEY=VALUE``)."""

    resolution_percentage: int | None = None
    samples: int | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class TaskSet:
    """One render pass over the frames: a layer and a camera when the renderer renders them
    separately (Maya), else ``None`` for both (Blender renders every view layer in one run)."""

    layer: str | None = None
    camera: str | None = None

    @property
    def label(self) -> str:
        return "-".join(part for part in (self.layer, self.camera) if part)


@dataclass(frozen=True)
class ExpectedOutput:
    """A file a task must produce, relative to the task's output folder (and so to the job's
    outputs), in the scene's own layout."""

    frame: int
    path: str
    layer: str | None = None
    camera: str | None = None
    source: str = "beauty"  # beauty | the File Output node / render element name


def task_sets(settings: RenderSettings | None) -> tuple[TaskSet, ...]:
    """The task sets: one per renderable layer x renderable camera for renderers that render them
    separately; a single one otherwise."""
    if settings is None or not settings.separate_layers:
        return (TaskSet(),)
    layers = [layer.name for layer in settings.renderable_layers] or [None]
    cameras = list(settings.cameras) or [None]
    return tuple(TaskSet(layer, camera) for layer in layers for camera in cameras)


__all__ = ["CameraMarker", "ColorManagement", "ExpectedOutput", "FileOutput", "ImageFormat", "Overrides", "RenderLayer",
           "RenderSettings", "TaskSet", "task_sets"]
