"""The open scene's render settings through ``bpy``, as the core's model: what the headless reader
finds in the saved file, but from Blender itself (unsaved edits included, every Blender version)."""

from __future__ import annotations

import bpy

from azrender.node.blender_settings import compositor_tree
from azrender.rendersettings.blend import MAX_GROUP_DEPTH, named_format, node_file_outputs
from azrender.rendersettings.model import CameraMarker, ColorManagement, FileOutput, RenderLayer, RenderSettings

# ViewLayer.use_pass_* -> the pass name in files (the order of the headless reader's bits)
PASSES = (("use_pass_combined", "Combined"), ("use_pass_z", "Depth"), ("use_pass_shadow", "Shadow"),
          ("use_pass_ambient_occlusion", "AO"), ("use_pass_normal", "Normal"), ("use_pass_vector", "Vector"),
          ("use_pass_object_index", "IndexOB"), ("use_pass_uv", "UV"), ("use_pass_mist", "Mist"),
          ("use_pass_emit", "Emit"), ("use_pass_environment", "Env"), ("use_pass_material_index", "IndexMA"),
          ("use_pass_diffuse_direct", "DiffDir"), ("use_pass_diffuse_indirect", "DiffInd"),
          ("use_pass_diffuse_color", "DiffCol"), ("use_pass_glossy_direct", "GlossDir"),
          ("use_pass_glossy_indirect", "GlossInd"), ("use_pass_glossy_color", "GlossCol"),
          ("use_pass_transmission_direct", "TransDir"), ("use_pass_transmission_indirect", "TransInd"),
          ("use_pass_transmission_color", "TransCol"), ("use_pass_subsurface_direct", "SubsurfaceDir"),
          ("use_pass_subsurface_indirect", "SubsurfaceInd"), ("use_pass_subsurface_color", "SubsurfaceCol"))


def _format(settings, container: str | None = None):
    kind = settings.file_format
    if kind == "OPEN_EXR" and getattr(settings, "media_type", "") == "MULTI_LAYER_IMAGE":  # Blender 5
        kind = "OPEN_EXR_MULTILAYER"
    return named_format(kind, color_depth=settings.color_depth or None, codec=getattr(settings, "exr_codec", None),
                        quality=settings.quality, color_mode=settings.color_mode, container=container)


def _file_outputs(scene) -> tuple[FileOutput, ...]:
    tree = compositor_tree(scene)
    if tree is None or not scene.render.use_compositing:
        return ()
    found = []
    for name, node in _output_file_nodes(tree):
        items = getattr(node, "file_output_items", None)  # Blender 5: items, a directory and a file name
        if items is not None:
            inputs = [(item.name, socket.is_linked, _format(item.format) if item.override_node_format else None)
                      for item, socket in zip(items, node.inputs)]
            folder, file_name = node.directory, node.file_name
        else:
            inputs = [(slot.path, socket.is_linked, None if slot.use_node_format else _format(slot.format))
                      for slot, socket in zip(node.file_slots, node.inputs)]
            folder, file_name = node.base_path, None
        found += node_file_outputs(name, tuple(bpy.app.version[:2]), folder, file_name, _format(node.format), inputs)
    return tuple(found)


def _output_file_nodes(tree, prefix: str = "", depth: int = 0):
    """As the headless reader's: unmuted File Output nodes, in node groups too, named by path."""
    if tree is None or depth > MAX_GROUP_DEPTH:
        return
    for node in tree.nodes:
        if node.mute:
            continue
        if node.bl_idname == "CompositorNodeOutputFile":
            yield prefix + node.name, node
        elif node.bl_idname == "CompositorNodeGroup":
            yield from _output_file_nodes(node.node_tree, prefix + node.name + "/", depth + 1)


def collect(scene=None) -> RenderSettings:
    scene = scene or bpy.context.scene
    r = scene.render
    container = r.ffmpeg.format if r.image_settings.file_format == "FFMPEG" else None
    return RenderSettings(
        host="blender", renderer=r.engine, frame_start=scene.frame_start, frame_end=scene.frame_end,
        frame_step=scene.frame_step, output_path=r.filepath, image_format=_format(r.image_settings, container),
        resolution=(r.resolution_x, r.resolution_y), resolution_percentage=r.resolution_percentage,
        layers=tuple(RenderLayer(layer.name, layer.use, tuple(name for prop, name in PASSES if getattr(layer, prop, False)))
                     for layer in scene.view_layers),
        cameras=(scene.camera.name,) if scene.camera else (),
        camera_markers=tuple(CameraMarker(m.frame, m.camera.name) for m in scene.timeline_markers if m.camera),
        file_outputs=_file_outputs(scene), single_layer=bpy.context.view_layer.name if r.use_single_layer else None,
        use_extension=r.use_file_extension,
        color_management=ColorManagement(scene.view_settings.view_transform, scene.view_settings.look,
                                         round(scene.view_settings.exposure, 4), round(scene.view_settings.gamma, 4),
                                         scene.display_settings.display_device))
