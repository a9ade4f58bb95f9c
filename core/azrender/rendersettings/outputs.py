"""The files a task must produce, computed at plan time from the scene's own templates.

Every path is relative to the task's output folder, in the scene's own layout: Blender's
``//render/sh010_beauty_`` gives ``render/sh010_beauty_0001.exr``; an absolute output folder keeps
only the file name (the node cannot write to the artist's disk). The same relative template is
what the node points the renderer at, so the two never disagree.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from azrender.rendersettings.model import ExpectedOutput, FileOutput, RenderSettings, TaskSet

_HASHES = re.compile(r"#+")

Namer = Callable[[RenderSettings, TaskSet, list[int]], list[ExpectedOutput]]
_NAMERS: dict[str, Namer] = {}


def namer(host: str) -> Callable[[Namer], Namer]:
    def register(fn: Namer) -> Namer:
        _NAMERS[host] = fn
        return fn

    return register


def relative_template(path: str) -> str:
    """The scene's output template made relative to the task's output folder (``//`` paths keep
    their folders, ``..`` dropped; absolute ones keep only their file-name part)."""
    text = path.replace("\\", "/")
    if text.startswith("//"):
        text = text[2:]
    else:
        text = text.rsplit("/", 1)[-1]
    folders, _, name = text.rpartition("/")
    kept = [part for part in folders.split("/") if part not in ("", ".", "..")]
    return "/".join([*kept, name])


def frame_name(template: str, frame: int, padding: int = 4) -> str:
    """Blender's rule: the last run of ``#`` becomes the frame padded to its length, else the
    frame is appended with ``padding`` digits."""
    runs = list(_HASHES.finditer(template))
    if not runs:
        return template + _pad(frame, padding)
    last = runs[-1]
    return template[:last.start()] + _pad(frame, len(last.group())) + template[last.end():]


def _pad(frame: int, width: int) -> str:
    return f"-{-frame:0{max(width - 1, 1)}d}" if frame < 0 else f"{frame:0{width}d}"


def expected_outputs(settings: RenderSettings | None, task_set: TaskSet, frames: Iterable[int]) -> list[ExpectedOutput]:
    """What one task (``frames`` of ``task_set``) must write; empty when the host is unknown."""
    if settings is None or settings.host not in _NAMERS:
        return []
    return _NAMERS[settings.host](settings, task_set, sorted(frames))


@namer("blender")
def blender_outputs(settings: RenderSettings, task_set: TaskSet, frames: list[int]) -> list[ExpectedOutput]:
    found = []
    fmt = settings.image_format
    template = relative_template(settings.output_path)
    ext = "." + fmt.extension if settings.use_extension else ""
    if fmt.movie:  # one file for the chunk: name0001-0010.mp4
        found.append(ExpectedOutput(frames[0], f"{template}{_pad(frames[0], 4)}-{_pad(frames[-1], 4)}{ext}"))
    else:
        found += [ExpectedOutput(f, frame_name(template, f) + ext) for f in frames]
    for node in settings.file_outputs:
        for path in node.paths:
            node_template = relative_template(path)
            found += [ExpectedOutput(f, frame_name(node_template, f) + "." + node.image_format.extension, source=node.name)
                      for f in frames]
    return found


# Maya's default when the prefix is empty is the scene name; tokens are case-insensitive.
_MAYA_TOKEN = re.compile(r"<(Scene|RenderLayer|Layer|Camera|RenderPass|Version|RenderPassType|Extension)>", re.I)


def maya_prefix(settings: RenderSettings, scene_name: str, task_set: TaskSet, *, several_layers: bool,
                several_cameras: bool, render_pass: str = "beauty", prefix: str | None = None) -> str:
    """The image prefix (default: the scene's) with its tokens expanded for one layer, camera and
    pass. As Maya does, several renderable layers (or cameras) without their token in the prefix
    get a folder each."""
    prefix = prefix or settings.output_path or "<Scene>"
    lowered = prefix.lower()
    if several_cameras and "<camera>" not in lowered:
        prefix = "<Camera>/" + prefix
    if several_layers and "<renderlayer>" not in lowered and "<layer>" not in lowered:
        prefix = "<RenderLayer>/" + prefix
    camera = (task_set.camera or "").rsplit("|", 1)[-1]
    camera = camera[:-5] if camera.endswith("Shape") else camera
    values = {"scene": scene_name, "renderlayer": maya_layer_name(task_set.layer), "layer": maya_layer_name(task_set.layer),
              "camera": camera, "renderpass": render_pass, "renderpasstype": "beauty", "version": "",
              "extension": settings.image_format.extension}
    return relative_template("//" + _MAYA_TOKEN.sub(lambda m: values[m.group(1).lower()], prefix))


def maya_image_name(settings: RenderSettings) -> str:
    """``Render -im``: the scene's image prefix with ``<Scene>`` spelled as the artist's file (the
    node opens a copy of another name); Maya expands the other tokens itself."""
    return re.sub("<Scene>", lambda _: settings.scene_name, settings.output_path or "<Scene>", flags=re.I)


def maya_layer_name(layer: str | None) -> str:
    if layer in (None, "defaultRenderLayer"):
        return "masterLayer"
    return layer[3:] if layer.startswith("rs_") else layer


@namer("maya")
def maya_outputs(settings: RenderSettings, task_set: TaskSet, frames: list[int]) -> list[ExpectedOutput]:
    """One file per frame and pass: the layer's passes when each is written on its own (Arnold
    AOVs not merged, see :mod:`azrender.rendersettings.arnold`), else the beauty alone."""
    from azrender.rendersettings.arnold import BEAUTY, pass_prefix

    layer = next((layer for layer in settings.layers if layer.name == task_set.layer), None)
    separate = layer.passes if layer is not None and not settings.image_format.multilayer else ()
    prefix = pass_prefix(settings.output_path or "<Scene>") if separate else None
    names = [(render_pass, maya_prefix(settings, settings.scene_name, task_set, render_pass=render_pass, prefix=prefix,
                                       several_layers=len(settings.renderable_layers) > 1,
                                       several_cameras=len(settings.cameras) > 1))
             for render_pass in separate or (BEAUTY,)]
    ext = settings.image_format.extension
    numbered = [(f, f".{_pad(f, settings.frame_padding)}") for f in frames] if settings.animation else [(frames[0], "")]
    return [ExpectedOutput(f, f"{name}{number}.{ext}", task_set.layer, task_set.camera, source=render_pass)
            for f, number in numbered for render_pass, name in names]


MAX_DEFAULT_OUTPUT = "frame_.png"  # a scene that saves no file still renders frames for the farm
_NOT_IN_A_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def _folders(path: str) -> list[str]:
    return [p for p in path.replace("\\", "/").rpartition("/")[0].split("/") if p not in ("", ".", "..")]


def max_layout(settings: RenderSettings) -> tuple[str, tuple[tuple[FileOutput, str], ...]]:
    """3ds Max: (main file, ((render element, its file), ...)) relative to the task's output
    folder, in the scene's layout: the main file by its name; an element in the main file's folder
    or below keeps its place beside it, any other comes by its name; one that would land on another
    file's name goes into a folder named after the element (nothing overwritten)."""
    main = (settings.output_path or MAX_DEFAULT_OUTPUT).replace("\\", "/").rpartition("/")[2]
    base = [p.casefold() for p in _folders(settings.output_path)]
    taken, placed = {main.casefold()}, []
    for element in settings.file_outputs:
        path = element.paths[0]
        folders, name = _folders(path), path.replace("\\", "/").rpartition("/")[2]
        inside = bool(base) and [p.casefold() for p in folders[:len(base)]] == base
        relative = "/".join([*(folders[len(base):] if inside else []), name])
        if relative.casefold() in taken:
            relative = f"{_NOT_IN_A_NAME.sub('_', element.name) or 'element'}_{element.index}/{name}"
        taken.add(relative.casefold())
        placed.append((element, relative))
    return main, tuple(placed)


def max_numbered(relative: str, frame: int, extension: str) -> str:
    """``3dsmaxcmd -start -end`` numbers every file it writes (main output and render elements
    alike): a 4-digit frame before the extension, ``house_.exr`` -> ``house_0010.exr``."""
    stem, dot, ext = relative.rpartition(".")
    stem, ext = (stem, "." + ext) if dot and "/" not in ext else (relative, "." + extension)
    return f"{stem}{_pad(frame, 4)}{ext}"


@namer("max")
def max_outputs(settings: RenderSettings, task_set: TaskSet, frames: list[int]) -> list[ExpectedOutput]:
    """The main output and every render element the scene saves, per frame."""
    main, elements = max_layout(settings)
    found = [ExpectedOutput(f, max_numbered(main, f, settings.image_format.extension)) for f in frames]
    for element, relative in elements:
        found += [ExpectedOutput(f, max_numbered(relative, f, element.image_format.extension), source=element.name)
                  for f in frames]
    return found
