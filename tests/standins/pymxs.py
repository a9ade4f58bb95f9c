"""Stand-in for 3ds Max's ``pymxs``, answering from hand-written tables of each test scene's asset
list, never from azrender's own readers.

``open_scene(path)`` plays the part of opening the file in 3ds Max: :data:`SCENES` (by file name)
gives the AssetManager's assets as 3ds Max holds them (type, path as stored, path 3ds Max resolved
it to), written by hand from the UTF-16 strings of each file's ``FileAssetMetaData2/3`` stream.
Render settings answer 3ds Max's defaults unless set with ``set_render(...)``. Progress and prompt
calls are appended to ``CALLS``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import SimpleNamespace

CALLS: list[tuple] = []

_BARK_USER = "C:\\Users\\JohnDoe\\Desktop\\max_reverse\\max_files\\BARK5.jpg"
_XOLIUL = "C:\\Users\\vados\\AppData\\Local\\Autodesk\\3dsMax\\2012 - 32bit\\enu\\scripts\\XoliulShaderUI\\"
_GIRL = "C:\\Users\\vados\\Desktop\\3D models\\CrimeCraft\\Girl\\"
_CHECKER = "E:\\Autodesk\\17\\3ds Max 2017\\maps\\uvwunwrap\\UV_Checker.png"
# scene file name -> [(asset type, path as stored, path 3ds Max resolved it to or "")]
SCENES = {
    "01-teapot_no_cams_vray.max": [
        ("Bitmap", "C:\\Users\\Vadim\\Documents\\3dsMax\\sceneassets\\images\\BARK5.jpg", _BARK_USER),
        ("Bitmap", _BARK_USER, _BARK_USER)],
    "07-standard-17_physical_cameras.max": [],
    "08-extended_header_length_alysson_claret.max": [  # two "Bitmap" entries are material names
        ("Bitmap", "M_CH_FNPCbotAlyssonClaret", ""), ("Bitmap", _XOLIUL + "fx\\Xoliulshader_2.0.fx", ""),
        ("Bitmap", _GIRL + "T_CH_FNPCbot01_ns.tga", ""), ("Bitmap", "M_CH_FNPCAlyssonClaretHair", ""),
        ("Bitmap", _XOLIUL + "images\\NoImage.png", ""), ("Bitmap", _GIRL + "T_CH_FNPCbot01_cm.tga", "")],
    "2017_many_cams_and_other_stuff.max": [("Bitmap", _CHECKER, _CHECKER)],
    "MiniHouse.max": [],
}


def byref(value):
    """``pymxs.byref``: a by-reference argument; the call returns ``(result, value)``."""
    return value


@dataclass
class AssetUser:
    """``<IObject:AssetUser>``: GetType() gives the type name (``Bitmap``), GetFileName() the path
    as stored, GetFullFilePath() the path 3ds Max resolved it to."""

    asset_id: str
    type: str
    stored: str
    resolved: str

    def GetAssetId(self):
        return self.asset_id

    def GetType(self):
        return self.type

    def GetFileName(self):
        return self.stored

    def CanGetFullFilePath(self):
        return bool(self.resolved)

    def GetFullFilePath(self):
        return self.resolved


class _AssetManager:
    assets: list[AssetUser] = []

    def GetNumAssets(self):
        return len(self.assets)

    def GetAssetByIndex(self, index):  # 1-based, like MAXScript
        return self.assets[index - 1]


class _ATSOps:
    files: list[str] = []

    def Refresh(self):
        return True

    def GetFiles(self, files):
        """``ATSOps.GetFiles &files``: the scene file and every tracked asset path."""
        return True, list(self.files)


class _ElementManager:
    """``maxOps.GetCurRenderElementMgr()``: indices are 0-based, as in MAXScript's interface;
    ``GetElementsActive()`` is the Render Elements rollout's "Elements Active" check box."""

    def __init__(self, elements, active):
        self.elements, self.active = elements, active

    def GetElementsActive(self):
        return self.active

    def NumRenderElements(self):
        return len(self.elements)

    def GetRenderElement(self, index):
        """The element: ``elementName`` and ``enabled`` (its own check box in the list)."""
        name, _, *enabled = self.elements[index]
        return SimpleNamespace(elementName=name, enabled=enabled[0] if enabled else True)

    def GetRenderElementFilename(self, index):
        return self.elements[index][1]


def _time(frame: int):
    return SimpleNamespace(frame=frame)


class _Runtime:
    def __init__(self):
        self.AssetManager = _AssetManager()
        self.ATSOps = _ATSOps()
        self.maxFilePath = ""
        self.maxFileName = ""
        self.modified = False
        self.renderers = SimpleNamespace(current=SimpleNamespace(class_name="Default_Scanline_Renderer"))
        self.set_render()

    def set_render(self, rendTimeType=1, rendStart=0, rendEnd=100, rendNThFrame=1, rendPickupFrames="1,3,5-12",
                   animation=(0, 100), sliderTime=0, rendOutputFilename="", rendSaveFile=False, renderWidth=640,
                   renderHeight=480, elements=(), elements_active=True, camera=None):
        """3ds Max's defaults: a single frame (the time slider's), range 0-100, 640x480, no file
        saved, no render elements; ``elements``: (element name, its output file[, enabled]) rows."""
        self.rendTimeType, self.rendNThFrame, self.rendPickupFrames = rendTimeType, rendNThFrame, rendPickupFrames
        self.rendStart, self.rendEnd, self.sliderTime = _time(rendStart), _time(rendEnd), _time(sliderTime)
        self.animationRange = SimpleNamespace(start=_time(animation[0]), end=_time(animation[1]))
        self.rendOutputFilename, self.rendSaveFile = rendOutputFilename, rendSaveFile
        self.renderWidth, self.renderHeight = renderWidth, renderHeight
        self.maxOps = SimpleNamespace(GetCurRenderElementMgr=lambda: _ElementManager(list(elements), elements_active))
        self.viewport = SimpleNamespace(getCamera=lambda: SimpleNamespace(name=camera) if camera else None)

    def classOf(self, value):
        return value.class_name

    def getSaveRequired(self):
        """Whether the open scene has unsaved changes."""
        return self.modified

    def __getattr__(self, name):  # progressStart / progressUpdate / progressEnd / replacePrompt
        if name in {"progressStart", "progressUpdate", "progressEnd", "replacePrompt"}:
            return lambda *args: CALLS.append((name, args)) or True
        raise AttributeError(f"stand-in pymxs.runtime has no {name!r}")


runtime = _Runtime()


def open_scene(path: str, *, modified: bool = False) -> None:
    """Open ``path`` (its table in :data:`SCENES`); ``modified`` plays the artist having edited it
    since it was saved."""
    runtime.__init__()
    runtime.maxFilePath = os.path.dirname(os.path.abspath(path)) + os.sep
    runtime.maxFileName = os.path.basename(path)
    runtime.modified = modified
    runtime.AssetManager.assets = [
        AssetUser(f"{{{index:08X}-0000-0000-0000-000000000000}}", asset_type, stored, resolved)
        for index, (asset_type, stored, resolved) in enumerate(SCENES[os.path.basename(path)], start=1)]
    runtime.ATSOps.files = [os.path.abspath(path)] + [a.stored for a in runtime.AssetManager.assets]
    CALLS.clear()
