"""Builds, with real Blender, a shot that uses one file of every kind the Blender add-on collects:
``blender -b --factory-startup --python tests/hosts_blender_scene.py -- OUTDIR``.

OUTDIR/shot.blend uses (all ``//``-relative): textures/bois é.png, a 3-frame image sequence,
UDIM tiles 1001/1002, a linked library lib/props.blend (which uses lib/maps/prop.png), a sound,
a font, an OpenVDB volume, a movie clip (clips/track.000[12].png), a sequencer image strip (edit/plate.000[12].png), an
external IES profile, an Alembic cache when this Blender has Alembic, and textures/missing.png,
which does not exist.
"""

import os
import shutil
import struct
import sys
import wave

import bpy

OUT = os.path.abspath(sys.argv[sys.argv.index("--") + 1])
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def png(rel: str, rgb=(200, 120, 40)) -> str:
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = bpy.data.images.new("tmp", 4, 4)
    image.pixels = [c / 255.0 for c in (*rgb, 255)] * 16
    image.filepath_raw = path
    image.file_format = "PNG"
    image.save()
    bpy.data.images.remove(image)
    return path


def save(rel: str) -> None:
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=path, relative_remap=True)


# The library: an object whose material uses its own texture.
bpy.ops.wm.read_factory_settings(use_empty=True)
prop_image = bpy.data.images.load(png("lib/maps/prop.png", (40, 200, 60)))
material = bpy.data.materials.new("prop")
material.use_nodes = True
material.node_tree.nodes.new("ShaderNodeTexImage").image = prop_image
mesh = bpy.data.meshes.new("prop")
mesh.materials.append(material)
bpy.context.scene.collection.objects.link(bpy.data.objects.new("prop", mesh))
save("lib/props.blend")

# The shot.
bpy.ops.wm.read_factory_settings(use_empty=True)
os.makedirs(OUT, exist_ok=True)
bpy.ops.wm.save_as_mainfile(filepath=os.path.join(OUT, "shot.blend"))
bpy.data.images.load(png("textures/bois é.png"))
for frame in (1, 2, 3):
    png(f"textures/seq/flame.{frame:04d}.png", (20 * frame, 0, 0))
sequence = bpy.data.images.load(os.path.join(OUT, "textures/seq/flame.0001.png"))
sequence.source = "SEQUENCE"
for tile in (1001, 1002):
    png(f"textures/udim/tiles.{tile}.png")
tiled = bpy.data.images.load(os.path.join(OUT, "textures/udim/tiles.1001.png"))
tiled.source = "TILED"
missing = bpy.data.images.new("missing", 4, 4)
missing.source = "FILE"
missing.filepath = "//textures/missing.png"

os.makedirs(os.path.join(OUT, "audio"), exist_ok=True)
with wave.open(os.path.join(OUT, "audio", "click.wav"), "wb") as w:
    w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
    w.writeframes(struct.pack("<4h", 0, 8000, -8000, 0))
bpy.data.sounds.load(os.path.join(OUT, "audio", "click.wav"))

os.makedirs(os.path.join(OUT, "fonts"), exist_ok=True)
shutil.copy(FONT, os.path.join(OUT, "fonts", "title.ttf"))
bpy.data.fonts.load(os.path.join(OUT, "fonts", "title.ttf"))

os.makedirs(os.path.join(OUT, "vdb"), exist_ok=True)
with open(os.path.join(OUT, "vdb", "smoke.vdb"), "wb") as f:
    f.write(b" BDV")  # a volume's path is what matters here, not its voxels
volume = bpy.data.volumes.new("smoke")
volume.filepath = os.path.join(OUT, "vdb", "smoke.vdb")

if bpy.app.build_options.alembic:
    bpy.ops.mesh.primitive_cube_add()
    os.makedirs(os.path.join(OUT, "caches"), exist_ok=True)
    bpy.ops.wm.alembic_export(filepath=os.path.join(OUT, "caches", "cube.abc"), start=1, end=1)
    bpy.ops.wm.alembic_import(filepath=os.path.join(OUT, "caches", "cube.abc"))

# A movie clip (an image sequence), a sequencer image strip and an external IES profile.
for frame in (1, 2):
    png(f"clips/track.{frame:04d}.png", (0, 40 * frame, 0))
bpy.data.movieclips.load(os.path.join(OUT, "clips/track.0001.png")).use_fake_user = True
os.makedirs(os.path.join(OUT, "ies"), exist_ok=True)
with open(os.path.join(OUT, "ies", "spot.ies"), "w") as f:
    f.write("IESNA:LM-63-2002\n")
light = bpy.data.lights.new("spot", "SPOT")
light.use_nodes = True
ies = light.node_tree.nodes.new("ShaderNodeTexIES")
ies.mode, ies.filepath = "EXTERNAL", os.path.join(OUT, "ies", "spot.ies")
bpy.context.scene.collection.objects.link(bpy.data.objects.new("spot", light))
editor = bpy.context.scene.sequence_editor_create()
for frame in (1, 2):
    png(f"edit/plate.{frame:04d}.png", (0, 0, 40 * frame))
strip = editor.sequences.new_image("plate", os.path.join(OUT, "edit/plate.0001.png"), 1, 1)
strip.elements.append("plate.0002.png")

with bpy.data.libraries.load(os.path.join(OUT, "lib", "props.blend"), link=True) as (src, dst):
    dst.objects = ["prop"]
for obj in dst.objects:
    bpy.context.scene.collection.objects.link(obj)

for collection in (bpy.data.images, bpy.data.sounds, bpy.data.fonts, bpy.data.volumes):
    for datablock in collection:
        datablock.use_fake_user = True  # kept in the file although nothing in the scene shows it
bpy.ops.file.make_paths_relative()
bpy.context.scene.frame_start, bpy.context.scene.frame_end = 1, 2
bpy.context.scene.render.resolution_x = bpy.context.scene.render.resolution_y = 32
bpy.ops.wm.save_as_mainfile(filepath=os.path.join(OUT, "shot.blend"), relative_remap=True)
print("BUILT", OUT)
