"""Run inside Blender: a scene whose render settings differ from every default (multilayer EXR, two
view layers with extra passes and a third switched off, a named output path, a compositor File
Output node with two linked slots, a camera marker). Saves to the path after ``--``."""
import bpy, sys
s = bpy.context.scene
s.render.engine = 'CYCLES'
s.cycles.samples = 2
s.cycles.use_denoising = False
s.render.resolution_x, s.render.resolution_y = 64, 48
s.render.resolution_percentage = 50
s.frame_start, s.frame_end, s.frame_step = 3, 7, 2
bpy.data.objects['Cube'].data.materials.clear()
s.render.filepath = "//render/sh010_beauty_"
s.render.image_settings.file_format = 'OPEN_EXR_MULTILAYER'
s.render.image_settings.color_depth = '16'
s.render.image_settings.exr_codec = 'ZIP'
vl = s.view_layers[0]
vl.name = "fg"
vl.use_pass_z = True
vl.use_pass_normal = True
vl2 = s.view_layers.new("bg")
vl2.use_pass_mist = True
vl3 = s.view_layers.new("off")
vl3.use = False
s.use_nodes = True
tree = s.node_tree
rl = tree.nodes["Render Layers"]
fo = tree.nodes.new("CompositorNodeOutputFile")
fo.base_path = "//comp/"
fo.file_slots[0].path = "depth_"
fo.format.file_format = 'PNG'
tree.links.new(rl.outputs["Image"], fo.inputs[0])
fo.file_slots.new("alpha_")
tree.links.new(rl.outputs["Alpha"], fo.inputs[1])
m = s.timeline_markers.new("F_05", frame=5)
cam2 = bpy.data.objects.new("Cam2", bpy.data.cameras.new("Cam2"))
s.collection.objects.link(cam2)
m.camera = cam2
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[-1])
