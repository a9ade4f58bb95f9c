"""The open scene's render settings as Maya holds them, read through ``maya.cmds`` into the core's
:class:`~azrender.rendersettings.model.RenderSettings` (the same fields the headless ``.ma`` reader
fills). Needed for Maya Binary scenes, which azrender cannot read without Maya."""

from __future__ import annotations

from pathlib import Path

from maya import cmds

from azrender.rendersettings.maya import DEFAULT_LAYER, image_extension
from azrender.rendersettings.model import ImageFormat, RenderLayer, RenderSettings

from . import collect

GLOBALS = "defaultRenderGlobals"


def _get(plug: str):
    return cmds.getAttr(plug)


def _layers() -> tuple[RenderLayer, ...]:
    """The layers of the scene's own layer manager (a referenced scene's layers hang off its own)."""
    layers = tuple(RenderLayer(layer, bool(_get(f"{layer}.renderable")))
                   for layer in cmds.ls(type="renderLayer") or ()
                   if "renderLayerManager" in (cmds.listConnections(f"{layer}.identification", source=True,
                                                                    destination=False) or ()))
    return layers or (RenderLayer(DEFAULT_LAYER),)


def _cameras() -> tuple[str, ...]:
    """Renderable camera shapes, named by their transform as ``Render -cam`` takes them."""
    return tuple((cmds.listRelatives(shape, parent=True) or [shape])[0]
                 for shape in cmds.ls(type="camera") or () if _get(f"{shape}.renderable"))


def _extension(renderer: str) -> str:
    driver = _get("defaultArnoldDriver.aiTranslator") if renderer == "arnold" else None
    return image_extension(renderer, driver, int(_get(f"{GLOBALS}.imageFormat")), _get(f"{GLOBALS}.imfPluginKey"))


def read_settings() -> RenderSettings:
    renderer = _get(f"{GLOBALS}.currentRenderer") or "mayaSoftware"
    animation = bool(_get(f"{GLOBALS}.animation"))
    if animation:
        start, end = int(_get(f"{GLOBALS}.startFrame")), int(_get(f"{GLOBALS}.endFrame"))
        step = max(int(_get(f"{GLOBALS}.byFrameStep")), 1)
    else:  # animation off: Maya renders the current time
        start = end = int(cmds.currentTime(query=True))
        step = 1
    extension = _extension(renderer)
    settings = RenderSettings(
        host="maya", renderer=renderer, frame_start=start, frame_end=end, frame_step=step, animation=animation,
        output_path=_get(f"{GLOBALS}.imageFilePrefix") or "", image_format=ImageFormat(extension, extension),
        resolution=(int(_get("defaultResolution.width")), int(_get("defaultResolution.height"))),
        layers=_layers(), cameras=_cameras(), separate_layers=True,
        frame_padding=int(_get(f"{GLOBALS}.extensionPadding")),
        images_folder=cmds.workspace(fileRuleEntry="images") or "images",
        project=cmds.workspace(query=True, rootDirectory=True).rstrip("/\\"),
        scene_name=Path(collect.scene_path()).stem)
    return with_held_aovs(settings)


def with_held_aovs(settings: RenderSettings) -> RenderSettings:
    """``settings`` with Arnold's AOVs as Maya holds them now (a referenced rig's too)."""
    from azrender.rendersettings.arnold import with_aovs

    aovs = collect.arnold_aovs() if settings.renderer == "arnold" else None
    return with_aovs(settings, aovs) if aovs is not None else settings
