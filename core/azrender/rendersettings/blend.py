"""Render settings of a ``.blend``, read headless with blender-asset-tracer's block reader (no
Blender needed): the current scene's ``RenderData``, view layers, compositor File Output nodes and
camera markers. Field and flag values are Blender's DNA (``DNA_scene_types.h``, ``DNA_node_types.h``).
"""

from __future__ import annotations

import pathlib

from azrender.errors import SceneError
from azrender.rendersettings.model import (CameraMarker, ColorManagement, FileOutput, ImageFormat, RenderLayer,
                                           RenderSettings)

# ImageFormatData.imtype -> (bpy file_format, extension, movie)
IMAGE_TYPES = {
    0: ("TARGA", "tga", False), 1: ("IRIS", "rgb", False), 4: ("JPEG", "jpg", False), 7: ("IRIZ", "rgb", False),
    14: ("TARGA_RAW", "tga", False), 15: ("AVI_RAW", "avi", True), 16: ("AVI_JPEG", "avi", True),
    17: ("PNG", "png", False), 20: ("BMP", "bmp", False), 21: ("HDR", "hdr", False), 22: ("TIFF", "tif", False),
    23: ("OPEN_EXR", "exr", False), 24: ("FFMPEG", "mp4", True), 26: ("CINEON", "cin", False), 27: ("DPX", "dpx", False),
    28: ("OPEN_EXR_MULTILAYER", "exr", False), 29: ("DDS", "dds", False), 30: ("JPEG2000", "jp2", False),
    35: ("WEBP", "webp", False),
}
EXR_CODECS = {0: "NONE", 1: "PXR24", 2: "ZIP", 3: "PIZ", 4: "RLE", 5: "ZIPS", 6: "B44", 7: "B44A", 8: "DWAA", 9: "DWAB"}
FFMPEG_CONTAINERS = {0: "mpg", 1: "mpg", 2: "avi", 3: "mov", 4: "dv", 5: "mp4", 6: "avi", 7: "flv", 8: "mkv",
                     9: "ogv", 10: "webm", 11: "mp4"}  # FFMpegCodecData.type (FFMPEG_MPEG1 ...)
FFMPEG_CONTAINER_EXTENSIONS = {"MPEG1": "mpg", "MPEG2": "mpg", "MPEG4": "mp4", "AVI": "avi", "QUICKTIME": "mov",
                               "DV": "dv", "FLASH": "flv", "MKV": "mkv", "OGG": "ogv", "WEBM": "webm"}  # bpy names
_PLANES = {8: "BW", 24: "RGB", 32: "RGBA"}
DEPTHS = {1: "1", 2: "8", 4: "10", 8: "12", 16: "16", 32: "24", 64: "32"}  # R_IMF_CHAN_DEPTH_* bits
R_EXTENSION, R_DOCOMP, R_SINGLE_LAYER = 1 << 4, 1 << 6, 1 << 9
VIEW_LAYER_RENDER = 1
NODE_MUTED = 1 << 9
MAX_GROUP_DEPTH = 16  # node groups inside node groups
# ViewLayer.passflag bits (eScenePassType) -> the pass name as it appears in files
PASSES = {0: "Combined", 1: "Depth", 6: "AO", 8: "Normal", 9: "Vector", 11: "IndexOB", 12: "UV", 14: "Mist",
          16: "Emit", 17: "Env", 18: "IndexMA", 19: "DiffDir", 20: "DiffInd", 21: "DiffCol", 22: "GlossDir",
          23: "GlossInd", 24: "GlossCol", 25: "TransDir", 26: "TransInd", 27: "TransCol", 28: "SubsurfaceDir",
          29: "SubsurfaceInd", 30: "SubsurfaceCol", 5: "Shadow"}


def _text(raw) -> str:
    return bytes(raw).split(b"\0", 1)[0].decode("utf-8", "surrogateescape") if raw is not None else ""


def _listbase(block, path):
    from blender_asset_tracer.blendfile import iterators

    try:  # fields come and go between Blender versions (view_layers since 2.80)
        first = block.get_pointer(path)
    except KeyError:
        return []
    return list(iterators.listbase(first)) if first is not None else []


def image_format(block, prefix: tuple[bytes, ...], ffmpeg_type: int | None = None) -> ImageFormat:
    """The ImageFormatData at ``prefix`` inside ``block``."""
    def get(name: bytes, default=None):
        try:
            return block.get((*prefix, name))
        except KeyError:
            return default

    imtype = get(b"imtype", 17)
    kind, extension, movie = IMAGE_TYPES.get(imtype, (f"imtype-{imtype}", "img", False))
    if kind == "FFMPEG" and ffmpeg_type is not None:
        extension = FFMPEG_CONTAINERS.get(ffmpeg_type, extension)
    exr = kind.startswith("OPEN_EXR")
    depth = get(b"depth")
    return ImageFormat(kind=kind, extension=extension,
                       color_depth=DEPTHS.get(depth),
                       codec=EXR_CODECS.get(get(b"exr_codec")) if exr else None,
                       quality=get(b"quality") if kind in ("JPEG", "JPEG2000", "WEBP") else None,
                       color_mode=_PLANES.get(get(b"planes")), movie=movie, multilayer=kind == "OPEN_EXR_MULTILAYER")


def named_format(kind: str, *, color_depth: str | None = None, codec: str | None = None, quality: int | None = None,
                 color_mode: str | None = None, container: str | None = None) -> ImageFormat:
    """The model's ImageFormat from the names ``bpy`` uses (for in-app collectors): the same
    extensions and flags as a format read from the file."""
    found = next(((ext, movie) for name, ext, movie in IMAGE_TYPES.values() if name == kind), (kind.lower(), False))
    exr = kind.startswith("OPEN_EXR")
    extension = FFMPEG_CONTAINER_EXTENSIONS.get(container or "", found[0]) if kind == "FFMPEG" else found[0]
    return ImageFormat(kind=kind, extension=extension, color_depth=color_depth or None, codec=codec if exr else None,
                       quality=quality if kind in ("JPEG", "JPEG2000", "WEBP") else None, color_mode=color_mode,
                       movie=found[1], multilayer=kind == "OPEN_EXR_MULTILAYER")


def _passes(layer) -> tuple[str, ...]:
    flags = layer.get(b"passflag") or 0
    return tuple(name for bit, name in sorted(PASSES.items()) if flags & (1 << bit))


def node_file_outputs(name: str, version: tuple[int, int], folder: str, file_name: str | None, node_format: ImageFormat,
                      inputs: list[tuple[str, bool, ImageFormat | None]]) -> tuple[FileOutput, ...]:
    """A compositor File Output node's records, named as its Blender writes them (both readers and
    the in-app collector call this). ``inputs`` are (slot path or item name, linked, own format or
    None) in order. Blender 3.x/4.x (``file_name`` None): ``folder`` is the base path, a slot writes
    ``base_path/slot_path``, a multilayer node one file named by its base path itself. Blender 5
    (``file_name`` a string): ``folder`` is the directory, an item writes ``directory/file_name``
    + item name, a multilayer node ``directory/file_name``. An unlinked input writes nothing; so
    does a multilayer node with none linked, except in 4.5 (rendered: it writes the defaults)."""
    linked = [(path, fmt or node_format) for path, is_linked, fmt in inputs if is_linked]
    if node_format.multilayer:
        if not linked and version[:2] != (4, 5):
            return ()
        if file_name is None:  # the base path is the file's own name: the task redirects its folder
            return (FileOutput(name, (folder,), node_format, folder[:max(folder.rfind("/"), folder.rfind("\\")) + 1]),)
        return (FileOutput(name, (_in_folder(folder, file_name),), node_format, folder),)
    paths = [(_in_folder(folder, path if file_name is None else file_name + path), fmt) for path, fmt in linked]
    return tuple(FileOutput(name, tuple(p for p, f in paths if f == fmt), fmt, folder)
                 for fmt in dict.fromkeys(f for _, f in paths))  # one record per format


def _in_folder(folder: str, name: str) -> str:
    return folder.rstrip("/\\") + "/" + name if folder else name


def _file_outputs(bf, scene) -> tuple[FileOutput, ...]:
    from blender_asset_tracer.blendfile import iterators

    version = divmod(bf.header.version, 100)
    try:  # Blender 5: the compositor is a node group (the scene's own tree is kept for older Blenders)
        tree, blender5 = scene.get_pointer(b"compositing_node_group"), True
    except KeyError:
        tree, blender5 = scene.get_pointer(b"nodetree") if scene.get(b"use_nodes") else None, False
    found = []
    for name, node in _output_file_nodes(tree):
        storage = node.get_pointer(b"storage")
        node_format = image_format(storage, (b"format",))
        sockets = _listbase(node, (b"inputs", b"first"))
        if blender5:
            linked = {_text(s.get(b"identifier")) for s in sockets if s.get_pointer(b"link") is not None}
            items = storage.get_pointer(b"items")
            inputs = [(_text_block(item.get_pointer(b"name")), f"Item_{item.get(b'identifier')}" in linked,
                       image_format(item, (b"format",)) if item.get(b"override_node_format") else None)
                      for item in (iterators.dynamic_array(items) if items is not None else ())]
            file_name = _text_block(storage.get_pointer(b"file_name"))
        else:
            inputs = [(_text(slot.get(b"path")), socket.get_pointer(b"link") is not None,
                       None if slot.get(b"use_node_format") else image_format(slot, (b"format",)))
                      for socket in sockets for slot in [socket.get_pointer(b"storage")]]
            file_name = None
        found += node_file_outputs(name, version, _text(storage.get(b"base_path")), file_name, node_format, inputs)
    return tuple(found)


def _output_file_nodes(tree, prefix: str = "", depth: int = 0):
    """(name, node) of the File Output nodes that are not muted, in node groups too (Blender runs
    them there): a nested node's name is its group nodes' names and its own, joined by ``/``."""
    if tree is None or depth > MAX_GROUP_DEPTH:
        return
    for node in _listbase(tree, (b"nodes", b"first")):
        if node.get(b"flag") & NODE_MUTED:
            continue
        idname, name = _text(node.get(b"idname")), prefix + _text(node.get(b"name"))
        if idname == "CompositorNodeOutputFile":
            yield name, node
        elif idname == "CompositorNodeGroup":
            yield from _output_file_nodes(node.get_pointer(b"id"), name + "/", depth + 1)


def _text_block(block) -> str:
    """A string Blender stores in its own block (Blender 5's ``char *`` names)."""
    return _text(block.raw_data()) if block is not None else ""


def read_blend_settings(path: str | pathlib.Path) -> RenderSettings:
    """The current scene's render settings as saved in ``path``."""
    try:
        from blender_asset_tracer import blendfile
    except ImportError as exc:
        raise SceneError(f"{path}: reading .blend files needs blender-asset-tracer (pip install 'azrender[blend]')") from exc
    try:
        bf = blendfile.open_cached(pathlib.Path(path))
        try:
            return _read(bf)
        finally:
            blendfile.close_all_cached()
    except SceneError:
        raise
    except Exception as exc:  # BAT raises many types on a corrupt or unsupported file
        raise SceneError(f"{path}: cannot read its render settings ({type(exc).__name__}: {exc})") from exc


def _read(bf) -> RenderSettings:
    glob = bf.find_blocks_from_code(b"GLOB")[0]
    scene = glob.get_pointer(b"curscene")
    r = (b"r",)
    render_format = image_format(scene, (*r, b"im_format"), ffmpeg_type=scene.get((*r, b"ffcodecdata", b"type")))
    layers = tuple(RenderLayer(_text(layer.get(b"name")), bool(layer.get(b"flag") & VIEW_LAYER_RENDER), _passes(layer))
                   for layer in _listbase(scene, (b"view_layers", b"first")))
    scemode = scene.get((*r, b"scemode"))
    single = None
    if scemode & R_SINGLE_LAYER:
        active = glob.get_pointer(b"cur_view_layer")
        single = _text(active.get(b"name")) if active is not None else (layers[0].name if layers else None)
    camera = scene.get_pointer(b"camera")
    markers = tuple(CameraMarker(int(m.get(b"frame")), _text(m.get_pointer(b"camera").id_name)[2:])
                    for m in _listbase(scene, (b"markers", b"first")) if m.get_pointer(b"camera") is not None)
    return RenderSettings(
        host="blender", renderer=_text(scene.get((*r, b"engine"))),
        frame_start=int(scene.get((*r, b"sfra"))), frame_end=int(scene.get((*r, b"efra"))),
        frame_step=int(scene.get((*r, b"frame_step")) or 1), output_path=_text(scene.get((*r, b"pic"))),
        image_format=render_format, resolution=(int(scene.get((*r, b"xsch"))), int(scene.get((*r, b"ysch")))),
        resolution_percentage=int(scene.get((*r, b"size"))), layers=layers,
        cameras=(_text(camera.id_name)[2:],) if camera is not None else (), camera_markers=markers,
        file_outputs=_file_outputs(bf, scene) if scemode & R_DOCOMP else (), single_layer=single,
        use_extension=bool(scemode & R_EXTENSION),
        color_management=ColorManagement(_text(scene.get((b"view_settings", b"view_transform"))),
                                         _text(scene.get((b"view_settings", b"look"))),
                                         round(float(scene.get((b"view_settings", b"exposure"))), 4),
                                         round(float(scene.get((b"view_settings", b"gamma"))), 4),
                                         _text(scene.get((b"display_settings", b"display_device")))))
