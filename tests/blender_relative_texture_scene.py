"""Run inside Blender: OUT.blend showing one image texture, ``//tex/wood.png`` (relative), over the
whole frame. The texture itself is not written: the test writes it (any solid colour), so copies
of the .blend in other project folders show their own folder's texture.

argv after '--': OUT.blend
"""

import sys

import bpy

(out,) = sys.argv[sys.argv.index("--") + 1:]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.samples = 1
scene.cycles.use_denoising = False
scene.render.resolution_x, scene.render.resolution_y = 8, 8
scene.render.resolution_percentage = 100
scene.view_settings.view_transform = "Standard"
scene.frame_start, scene.frame_end = 1, 12

image = bpy.data.images.new("wood.png", 4, 4)
image.source = "FILE"
image.filepath = "//tex/wood.png"
bpy.ops.mesh.primitive_plane_add(size=4, location=(0, 0, 0))
material = bpy.data.materials.new("wood")
material.use_nodes = True
nodes, links = material.node_tree.nodes, material.node_tree.links
nodes.clear()
texture = nodes.new("ShaderNodeTexImage")
texture.image = image
emission = nodes.new("ShaderNodeEmission")
output = nodes.new("ShaderNodeOutputMaterial")
links.new(texture.outputs["Color"], emission.inputs["Color"])
links.new(emission.outputs["Emission"], output.inputs["Surface"])
bpy.context.active_object.data.materials.append(material)

camera_data = bpy.data.cameras.new("cam")
camera_data.type = "ORTHO"
camera_data.ortho_scale = 2
camera = bpy.data.objects.new("cam", camera_data)
camera.location = (0, 0, 5)
scene.collection.objects.link(camera)
scene.camera = camera
bpy.ops.wm.save_as_mainfile(filepath=out, relative_remap=False)
