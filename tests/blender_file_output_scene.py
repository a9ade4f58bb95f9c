"""Run inside Blender 3.4 (binary) or a bpy wheel (4.5, 5.0): a tiny scene whose compositor has
File Output nodes, set up through each version's own API, saved to the path after ``--``.

- "Passes": two linked inputs, ``beauty_`` (the node's PNG) and ``alpha_##`` (its own format,
  OpenEXR), and ``unused_`` left unlinked. Blender 3.x/4.x: base path ``//comp/`` + slot paths
  ``sh010_...``; Blender 5: directory ``//comp/``, file name ``sh010_``, items ``beauty_``, ...
- "Layers": multilayer EXR, both inputs linked: 3.x/4.x base path ``//comp/layers_``; Blender 5
  directory ``//comp`` (no slash) and file name ``layers_``.
- "Muted": muted, writes nothing; "Unlinked": no input linked, writes nothing; "UnlinkedLayers":
  multilayer, no input linked: writes nothing, but Blender 4.5 writes ``unlinked/ul_####.exr``.
- "Group/Nested": a File Output inside a node group writes ``nested/n_####.png``.
The frame shows only the world (linear 0.2, 0.4, 0.8, view transform Standard) from "Camera"; a
camera marker at frame 2 switches to "Cam2", which sees only an emissive red plane.

``-- OUT single-layer``: instead a multilayer EXR render of two view layers ("fg" with Depth, "bg"
with Mist), "Render Single Layer" on with "bg" active, no compositing.
"""
import math
import sys

import bpy

OUT, *MODE = sys.argv[sys.argv.index("--") + 1:]
s = bpy.context.scene
for obj in list(bpy.data.objects):
    if obj.type == "MESH":
        bpy.data.objects.remove(obj)
s.render.engine = "CYCLES"
s.cycles.samples = 1
s.cycles.use_denoising = False
s.render.resolution_x, s.render.resolution_y, s.render.resolution_percentage = 16, 12, 100
s.frame_start, s.frame_end = 1, 2
s.render.filepath = "//render/beauty_"
s.render.image_settings.file_format = "PNG"
s.render.image_settings.color_mode = "RGB"
s.view_settings.view_transform = "Standard"
s.view_settings.look = "None"
world = s.world
world.use_nodes = True
background = world.node_tree.nodes["Background"]
background.inputs["Color"].default_value = (0.2, 0.4, 0.8, 1.0)
background.inputs["Strength"].default_value = 1.0

red = bpy.data.materials.new("Red")
red.use_nodes = True
nodes = red.node_tree.nodes
nodes.remove(nodes["Principled BSDF"])
emission = nodes.new("ShaderNodeEmission")
emission.inputs["Color"].default_value = (1.0, 0.0, 0.0, 1.0)
red.node_tree.links.new(emission.outputs["Emission"], nodes["Material Output"].inputs["Surface"])
bpy.ops.mesh.primitive_plane_add(size=40, location=(0, 0, 100))
bpy.context.active_object.data.materials.append(red)
cam2 = bpy.data.objects.new("Cam2", bpy.data.cameras.new("Cam2"))
cam2.location, cam2.rotation_euler = (0, 0, 90), (math.pi, 0, 0)  # looking up at the plane
s.collection.objects.link(cam2)
s.timeline_markers.new("F_02", frame=2).camera = cam2
s.timeline_markers.new("F_01", frame=1).camera = bpy.data.objects["Camera"]

BLENDER5 = bpy.app.version >= (5, 0, 0)
if BLENDER5:
    tree = bpy.data.node_groups.new("Compositing", "CompositorNodeTree")
    s.compositing_node_group = tree
    layers = tree.nodes.new("CompositorNodeRLayers")
else:
    s.use_nodes = True
    tree = s.node_tree
    layers = tree.nodes["Render Layers"]


def file_output(name, folder, file_name, inputs, multilayer=False):
    """A File Output node writing ``inputs`` [(name, render layer output or None)]."""
    node = tree.nodes.new("CompositorNodeOutputFile")
    node.name = name
    if BLENDER5:
        node.directory, node.file_name = folder, file_name
        node.format.media_type = "MULTI_LAYER_IMAGE" if multilayer else "IMAGE"
        node.format.file_format = "OPEN_EXR_MULTILAYER" if multilayer else "PNG"
        for item, _ in inputs:
            node.file_output_items.new("FLOAT" if item.startswith("alpha") else "RGBA", item)
    else:
        node.base_path = folder + file_name if multilayer else folder
        node.format.file_format = "OPEN_EXR_MULTILAYER" if multilayer else "PNG"
        slots = node.layer_slots if multilayer else node.file_slots
        slots.clear()
        for item, _ in inputs:
            slots.new(item if multilayer else file_name + item)
    if not multilayer:
        node.format.color_mode, node.format.color_depth = "RGB", "8"
    for socket, (_, source) in zip(node.inputs, inputs):
        if source is not None:
            tree.links.new(layers.outputs[source], socket)
    return node


passes = file_output("Passes", "//comp/", "sh010_", [("beauty_", "Image"), ("alpha_##", "Alpha"), ("unused_", None)])
if BLENDER5:
    alpha = passes.file_output_items[1]
    alpha.override_node_format = True
else:
    alpha = passes.file_slots[1]
    alpha.use_node_format = False
alpha.format.file_format = "OPEN_EXR"
alpha.format.exr_codec = "ZIP"
file_output("Layers", "//comp" if BLENDER5 else "//comp/", "layers_", [("beauty", "Image"), ("alpha", "Alpha")], multilayer=True)
file_output("Muted", "//muted/", "m_", [("beauty_", "Image")]).mute = True
file_output("Unlinked", "//unlinked/", "u_", [("beauty_", None)])
file_output("UnlinkedLayers", "//unlinked/", "ul_", [("beauty", None)], multilayer=True)

inner = bpy.data.node_groups.new("Inner", "CompositorNodeTree")  # a File Output inside a node group
if hasattr(inner, "interface"):
    inner.interface.new_socket("Image", in_out="INPUT", socket_type="NodeSocketColor")
else:
    inner.inputs.new("NodeSocketColor", "Image")
group = tree.nodes.new("CompositorNodeGroup")
group.name, group.node_tree = "Group", inner
tree.links.new(layers.outputs["Image"], group.inputs[0])
nested = inner.nodes.new("CompositorNodeOutputFile")
nested.name = "Nested"
if BLENDER5:
    nested.directory, nested.file_name = "//nested/", ""
    nested.format.media_type = "IMAGE"
    nested.file_output_items.new("RGBA", "n_")
else:
    nested.base_path = "//nested/"
    nested.file_slots[0].path = "n_"
nested.format.file_format, nested.format.color_mode, nested.format.color_depth = "PNG", "RGB", "8"
inner.links.new(inner.nodes.new("NodeGroupInput").outputs[0], nested.inputs[0])
if MODE == ["single-layer"]:
    if BLENDER5:
        s.render.image_settings.media_type = "MULTI_LAYER_IMAGE"
    else:
        s.render.image_settings.file_format = "OPEN_EXR_MULTILAYER"
    s.render.use_compositing = False
    fg = s.view_layers[0]
    fg.name, fg.use_pass_z = "fg", True
    bg = s.view_layers.new("bg")
    bg.use_pass_mist = True
    s.render.use_single_layer = True
    bpy.context.window.view_layer = bg
bpy.ops.wm.save_as_mainfile(filepath=OUT)
