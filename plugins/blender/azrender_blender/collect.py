"""Every external file the open .blend uses, read through ``bpy`` and handed to the core resolver
as :class:`~azrender.discovery.resolve.RawReference` records (paths exactly as Blender holds them;
the core resolves ``//``, sequences and UDIM tiles the same way for the headless scanner).

One small collector per datablock type, registered in ``COLLECTORS``; ``bpy.utils.blend_paths``
then catches whatever no collector knows (a new datablock type in a future Blender).
"""

from __future__ import annotations

import bpy

from azrender.discovery.model import Kind
from azrender.discovery.resolve import RawReference

COLLECTORS = []


def collector(function):
    COLLECTORS.append(function)
    return function


def library_path(library) -> str:
    """A library's absolute path: its ``//`` path is relative to the file that links it."""
    return bpy.path.abspath(library.filepath, library=library.parent)


def holder(datablock) -> str:
    """The absolute path of the .blend that stores ``datablock`` (its library, or the open file):
    relative ``//`` paths are relative to that file."""
    library = getattr(datablock, "library", None)
    return bpy.data.filepath if library is None else library_path(library)


def _ref(datablock, path: str, kind: Kind, code: str, **extra) -> RawReference:
    return RawReference(path=path, kind=kind, source=f"{code}:{datablock.name}", scene=holder(datablock),
                        host="blender", **extra)


def _packed(datablock) -> bool:
    return bool(getattr(datablock, "packed_file", None) or getattr(datablock, "packed_files", None))


@collector
def images():
    for image in bpy.data.images:
        if not image.filepath or _packed(image) or image.source in {"GENERATED", "VIEWER"}:
            continue
        kind = Kind.MOVIE if image.source == "MOVIE" else Kind.TEXTURE
        yield _ref(image, image.filepath, kind, "IM", sequence=image.source == "SEQUENCE",
                   tiles="udim" if image.source == "TILED" else None)


@collector
def libraries():
    for library in bpy.data.libraries:
        scene = bpy.data.filepath if library.parent is None else library_path(library.parent)
        yield RawReference(path=library.filepath, kind=Kind.LIBRARY, source=f"LI:{library.name}",
                           scene=scene, host="blender")


@collector
def caches():
    for cache in bpy.data.cache_files:
        if not _packed(cache):
            yield _ref(cache, cache.filepath, Kind.CACHE, "CF", sequence=cache.is_sequence)


@collector
def volumes():
    for volume in bpy.data.volumes:
        if volume.filepath and not _packed(volume):
            yield _ref(volume, volume.filepath, Kind.VOLUME, "VO", sequence=volume.is_sequence)


@collector
def sounds():
    for sound in bpy.data.sounds:
        if sound.filepath and not _packed(sound):
            yield _ref(sound, sound.filepath, Kind.SOUND, "SO")


@collector
def fonts():
    for font in bpy.data.fonts:
        if font.filepath and font.filepath != "<builtin>" and not _packed(font):
            yield _ref(font, font.filepath, Kind.FONT, "VF")


@collector
def movie_clips():
    for clip in bpy.data.movieclips:
        if clip.filepath:
            yield _ref(clip, clip.filepath, Kind.MOVIE, "MC", sequence=clip.source == "SEQUENCE")


@collector
def sequencer_strips():
    for scene in bpy.data.scenes:
        editor = scene.sequence_editor
        if editor is None:
            continue
        strips = editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all  # renamed in 4.4
        for strip in strips:
            if strip.type == "IMAGE":
                for element in strip.elements:
                    yield _ref(scene, strip.directory.rstrip("/\\") + "/" + element.filename,
                               Kind.TEXTURE, f"SQ:{strip.name}")
            elif strip.type == "MOVIE":
                yield _ref(scene, strip.filepath, Kind.MOVIE, f"SQ:{strip.name}")


def _node_trees():
    for collection in (bpy.data.materials, bpy.data.worlds, bpy.data.lights, bpy.data.node_groups):
        for owner in collection:
            tree = owner if collection is bpy.data.node_groups else getattr(owner, "node_tree", None)
            if tree is not None:
                yield owner, tree


@collector
def shader_node_files():
    # OSL scripts and IES profiles kept as external files (not embedded text datablocks).
    for owner, tree in _node_trees():
        for node in tree.nodes:
            if node.bl_idname in {"ShaderNodeScript", "ShaderNodeTexIES"} and node.mode == "EXTERNAL" and node.filepath:
                yield _ref(owner, node.filepath, Kind.OTHER, f"NT:{node.name}")


def raw_references() -> list[RawReference]:
    """What the open .blend needs, as written; paths no collector claimed come last as ``other``."""
    refs = [ref for collect in COLLECTORS for ref in collect()]
    claimed = {ref.path for ref in refs}
    for path in bpy.utils.blend_paths(absolute=False, packed=False, local=True):
        if path not in claimed:
            claimed.add(path)
            refs.append(RawReference(path=path, kind=Kind.OTHER, source="blend_paths",
                                     scene=bpy.data.filepath, host="blender"))
    return refs
