"""Render settings of a Maya ASCII scene, as Maya itself would report them: the current renderer,
the animation flag and frame range (animation off: the current time), renderable render layers
(legacy and Render Setup, those of the scene's own layer manager), renderable cameras, the image
prefix with its tokens, the image format, the resolution, the project's images folder and Arnold's
AOVs (:mod:`azrender.rendersettings.arnold`).

Defaults are Maya's own for attributes a scene leaves unset (it writes only what differs).
"""

from __future__ import annotations

import re
from pathlib import Path

from azrender.discovery.maya_ascii import _TOKEN, _statement, _unquote, decode
from azrender.rendersettings.arnold import ArnoldAovs, with_aovs
from azrender.rendersettings.model import ImageFormat, RenderLayer, RenderSettings

DEFAULT_LAYER = "defaultRenderLayer"
# defaultRenderGlobals.imageFormat (outf) -> extension; 51 means "use imfPluginKey"
IMAGE_FORMATS = {0: "gif", 1: "pic", 2: "rla", 3: "tif", 4: "als", 5: "rgb", 7: "iff", 8: "jpg", 9: "eps",
                 10: "iff", 11: "cin", 12: "yuv", 13: "sgi", 19: "tga", 20: "bmp", 23: "avi", 31: "psd",
                 32: "png", 35: "dds", 36: "psd", 40: "exr"}
ARNOLD_DRIVERS = {"exr": "exr", "deepexr": "exr", "tif": "tif", "jpeg": "jpg", "png": "png", "maya": "iff"}
PLUGIN_KEYS = {"jpeg": "jpg", "tiff": "tif", "targa": "tga"}
_STATEMENT_START = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*", re.S)
_WORKSPACE_IMAGES = re.compile(r'workspace\s+-fr\s+"images"\s+"([^"]*)"')


class _Scene:
    def __init__(self):
        self.nodes: dict[str, tuple[str, str | None]] = {}  # name -> (type, parent)
        self.values: dict[tuple[str, str], list[str]] = {}  # (node, attribute) -> tokens
        self.connections: list[tuple[str, str]] = []
        self.current: str | None = None

    def value(self, node: str, attribute: str, default=None):
        tokens = self.values.get((node, attribute))
        return tokens[-1] if tokens else default

    def flag(self, node: str, attribute: str, default: bool) -> bool:
        value = self.value(node, attribute)
        return default if value is None else value in ("yes", "true", "1", "on")

    def number(self, node: str, attribute: str, default: float) -> float:
        try:
            return float(self.value(node, attribute, default))
        except ValueError:
            return default


def _parse(text: str, path: str) -> _Scene:
    scene = _Scene()
    pos, size = 0, len(text)
    while True:
        pos = _STATEMENT_START.match(text, pos).end()
        if pos >= size:
            return scene
        statement, pos = _statement(text, pos, path)
        keyword = statement.split(None, 1)[0] if statement.strip() else ""
        if keyword not in ("createNode", "select", "setAttr", "connectAttr"):
            continue
        tokens = _TOKEN.findall(statement)[1:]
        if keyword == "createNode" and tokens:
            name, parent = tokens[0].strip('"'), None
            for flag, value in zip(tokens, tokens[1:]):
                if flag in ("-n", "-name"):
                    name = _unquote(value) or value
                elif flag in ("-p", "-parent"):
                    parent = _unquote(value) or value
            scene.nodes[name] = (tokens[0].strip('"'), parent)
            scene.current = name
        elif keyword == "select" and ("-ne" in tokens or "-noExpand" in tokens):
            scene.current = (_unquote(tokens[-1]) or tokens[-1]).lstrip(":")
        elif keyword == "setAttr" and tokens:
            # the attribute is the first quoted token: flags may come before it (setAttr -k on ".ren" ...)
            at = next((i for i, token in enumerate(tokens) if token.startswith('"')), 0)
            target = _unquote(tokens[at]) or ""
            node = scene.current if target.startswith(".") else target.split(".", 1)[0]
            attribute = target.rsplit(".", 1)[-1]
            values, skip = [], False
            for token in tokens[at + 1:]:
                if skip:
                    skip = False
                elif token in ("-type", "-s", "-k", "-l", "-cb", "-av", "-size", "-keyable", "-lock", "-channelBox"):
                    skip = token not in ("-av",)
                else:
                    values.append(_unquote(token) if token.startswith('"') else token)
            if node:
                scene.values[(node, attribute)] = values
        elif keyword == "connectAttr" and len(tokens) >= 2:
            plugs = [_unquote(t) for t in tokens if t.startswith('"')]
            if len(plugs) >= 2:
                scene.connections.append((plugs[0], plugs[1]))


def _images_folder(scene_path: Path) -> tuple[str | None, str]:
    """(project folder, its images folder): the nearest ``workspace.mel`` above the scene."""
    for folder in scene_path.parents:
        workspace = folder / "workspace.mel"
        if workspace.is_file():
            found = _WORKSPACE_IMAGES.search(workspace.read_text(encoding="utf-8", errors="replace"))
            return str(folder), (found.group(1) if found else "images")
    return None, "images"


def read_maya_settings(path: str | Path) -> RenderSettings:
    path = Path(path)
    text, _warnings = decode(path.read_bytes(), str(path))
    s = _parse(text, str(path))
    globals_ = "defaultRenderGlobals"
    renderer = s.value(globals_, "ren") or "mayaSoftware"
    animation = s.flag(globals_, "an", False)
    if animation:
        start, end = int(s.number(globals_, "fs", 1)), int(s.number(globals_, "ef", 10))
        step = max(int(s.number(globals_, "bf", 1)), 1)
    else:  # animation off: Maya renders the current time
        start = end = int(s.number("time1", "o", 1))
        step = 1
    layers = []
    for source, destination in s.connections:
        if source.startswith("renderLayerManager.rlmi[") and destination.endswith(".rlid"):
            name = destination.rsplit(".", 1)[0]
            layers.append(RenderLayer(name, s.flag(name, "rndr", True)))
    if not layers:
        layers = [RenderLayer(DEFAULT_LAYER)]
    cameras = tuple((parent or name) for name, (kind, parent) in s.nodes.items()
                    if kind == "camera" and s.flag(name, "rnd", name not in ("topShape", "frontShape", "sideShape")))
    extension = _extension(s, renderer)
    project, images = _images_folder(path)
    settings = RenderSettings(
        host="maya", renderer=renderer, frame_start=start, frame_end=end, frame_step=step, animation=animation,
        output_path=s.value(globals_, "ifp") or "", image_format=ImageFormat(extension, extension),
        resolution=(int(s.number("defaultResolution", "w", 960)), int(s.number("defaultResolution", "h", 540))),
        layers=tuple(layers), cameras=cameras, separate_layers=True,
        frame_padding=int(s.number(globals_, "pad", 1)), images_folder=images, project=project,
        scene_name=path.stem)
    return with_aovs(settings, _arnold_aovs(s)) if renderer == "arnold" else settings


def _arnold_aovs(s: _Scene) -> ArnoldAovs:
    """MtoA's AOV settings as the file saves them (short attribute names, as Maya writes them;
    the long ones too). Unset attributes have MtoA's defaults."""
    def value(node: str, *names: str):
        return next((v for name in names if (v := s.value(node, name)) is not None), None)

    def flag(node: str, names: tuple[str, ...], default: bool) -> bool:
        found = value(node, *names)
        return default if found is None else found in ("yes", "true", "1", "on")

    listed, drivers = [], {}
    for source, destination in s.connections:
        target, node = destination.lstrip(":"), source.lstrip(":").split(".", 1)[0]
        if target.split("[", 1)[0] in ("defaultArnoldRenderOptions.aovs", "defaultArnoldRenderOptions.aovList"):
            listed.append(node)
        elif target.endswith((".drvr", ".driver")) and (".out[" in target or ".outputs[" in target):
            drivers.setdefault(target.split(".", 1)[0], []).append(node)  # aiAOV_N.out[0].drvr <- a driver
    aovs = [(value(node, "aovn", "name") or node, flag(node, ("aoven", "enabled"), True), tuple(drivers.get(node, ())))
            for node in listed]
    try:
        mode = int(float(value("defaultArnoldRenderOptions", "aovMode", "aovm") or 1))
    except ValueError:
        mode = 1
    driver = "defaultArnoldDriver"
    return ArnoldAovs(mode=mode, aovs=tuple(aovs), merge=flag(driver, ("merge_AOVs", "mergeAOVs"), False),
                      translator=value(driver, "ai_translator", "aiTranslator") or "exr")


def _extension(s: _Scene, renderer: str) -> str:
    key = s.value("defaultRenderGlobals", "imfkey")
    outf = int(s.number("defaultRenderGlobals", "outf", 7 if not key else 51))
    return image_extension(renderer, s.value("defaultArnoldDriver", "ai_translator"), outf, key)


def image_extension(renderer: str, arnold_driver: str | None, image_format: int, plugin_key: str | None) -> str:
    """The frames' extension (shared with the plugin's collector): Arnold's driver decides for
    Arnold; else ``imageFormat``, 51 meaning ``imfPluginKey``."""
    if renderer == "arnold":
        driver = arnold_driver or "exr"
        return ARNOLD_DRIVERS.get(driver, driver)
    if image_format == 51 and plugin_key:
        return PLUGIN_KEYS.get(plugin_key, plugin_key)
    return IMAGE_FORMATS.get(image_format, "iff")
