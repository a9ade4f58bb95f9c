"""Run inside Blender: build a scene whose two planes show two image textures, by absolute paths.

argv after '--': OUT.blend LEFT.png RIGHT.png  (the PNGs are created: left red, right green).
Orthographic camera, emission shaders, Standard view transform: pixel colours equal the textures'.
"""

import sys

import bpy

out, left, right = sys.argv[sys.argv.index("--") + 1:]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.samples = 4
scene.cycles.use_denoising = False
scene.render.resolution_x, scene.render.resolution_y = 32, 16
scene.render.resolution_percentage = 100
scene.view_settings.view_transform = "Standard"

for path, color, x in ((left, (1, 0, 0, 1), -1.0), (right, (0, 1, 0, 1), 1.0)):
    image = bpy.data.images.new(path.rsplit("/", 1)[-1], 4, 4)
    image.pixels = list(color) * 16
    image.filepath_raw = path
    image.file_format = "PNG"
    image.save()
    image.filepath = path  # absolute, as a scene saved elsewhere would hold it
    bpy.ops.mesh.primitive_plane_add(size=2, location=(x, 0, 0))
    material = bpy.data.materials.new(f"mat{x}")
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
camera_data.ortho_scale = 4
camera = bpy.data.objects.new("cam", camera_data)
camera.location = (0, 0, 5)
scene.collection.objects.link(camera)
scene.camera = camera
scene.render.filepath = "//frame_"  # the scene names its frames: frame_0001.png at the top of the job's outputs
bpy.ops.wm.save_as_mainfile(filepath=out, relative_remap=False)
