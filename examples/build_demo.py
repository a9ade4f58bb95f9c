"""Builds the example scene with real Blender: `blender -b --factory-startup --python examples/build_demo.py [-- OUTDIR]`.

examples/demo/
  demo.blend                      the shot: orthographic camera over four emissive cards
  textures/wood.png               an external texture in a sub-folder (card 1)
  textures/seq/flame.0001-0008.png an image sequence, one colour per frame (card 2)
  textures/udim/tiles.1001/1002.png a UDIM texture spanning two tiles (card 3)
  lib/props.blend                 a linked library (card 4), whose own texture is lib/maps/prop.png

Every card is emissive with a flat colour, so a rendered frame can be checked pixel by pixel
(DEMO_COLOURS below is what each card must show).
"""

from __future__ import annotations

import math
import os
import sys

try:
    import bpy
except ImportError:  # imported by the tests for the colours below, outside Blender
    bpy = None

HERE = os.path.dirname(os.path.abspath(__file__))
# `blender -b --python build_demo.py -- OUTDIR` builds elsewhere (the tests do); default examples/demo.
_ARGS = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
DEMO = os.path.abspath(_ARGS[0]) if _ARGS else os.path.join(HERE, "demo")
FRAMES = range(1, 9)

# The colours each texture carries (sRGB 0-255); tests read them back from rendered frames.
DEMO_COLOURS = {
    "wood": (200, 120, 40),
    "udim_1001": (220, 30, 30),
    "udim_1002": (30, 60, 220),
    "prop": (40, 200, 60),
}


# Where each card's centre lands in a 200x100 frame (x, y from the top).
CARD_PIXELS = {"wood": (25, 50), "flame": (75, 50), "udim_1001": (114, 50), "udim_1002": (136, 50), "prop": (175, 50)}


def sequence_colour(frame: int) -> tuple:
    return (20 + frame * 25, 20 + frame * 25, 240 - frame * 25)


def write_png(path: str, rgb: tuple, size: int = 16) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = bpy.data.images.new("tmp", size, size)
    image.colorspace_settings.name = "sRGB"
    # Image.pixels takes linear floats for an sRGB image saved as PNG: write sRGB bytes exactly.
    image.pixels = [c / 255.0 for c in (*rgb, 255)] * (size * size)
    image.filepath_raw = path
    image.file_format = "PNG"
    image.save()
    bpy.data.images.remove(image)


def emissive_material(name: str, image: bpy.types.Image) -> bpy.types.Material:
    material = bpy.data.materials.new(name)
    material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    nodes.clear()
    texture = nodes.new("ShaderNodeTexImage")
    texture.image = image
    texture.interpolation = "Closest"
    emission = nodes.new("ShaderNodeEmission")
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(texture.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    return material


def card(name: str, x: float, material: bpy.types.Material, u_scale: float = 1.0) -> bpy.types.Object:
    bpy.ops.mesh.primitive_plane_add(size=0.9, location=(x, 0, 0))
    obj = bpy.context.active_object
    obj.name = name
    for loop_uv in obj.data.uv_layers.active.data:
        loop_uv.uv[0] *= u_scale
    obj.data.materials.append(material)
    return obj


def reset() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.filepaths.save_version = 0  # no .blend1 backups beside the example


def build_library() -> str:
    reset()
    prop_png = os.path.join(DEMO, "lib", "maps", "prop.png")
    write_png(prop_png, DEMO_COLOURS["prop"])
    path = os.path.join(DEMO, "lib", "props.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)  # saved first so the image path can be relative
    image = bpy.data.images.load(prop_png)
    image.filepath = bpy.path.relpath(prop_png)
    card("Prop", 1.5, emissive_material("PropMaterial", image))
    bpy.ops.wm.save_as_mainfile(filepath=path, relative_remap=True)
    return path


def build_shot(library: str) -> str:
    reset()
    scene = bpy.context.scene
    path = os.path.join(DEMO, "demo.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)

    wood_png = os.path.join(DEMO, "textures", "wood.png")
    write_png(wood_png, DEMO_COLOURS["wood"])
    for frame in FRAMES:
        write_png(os.path.join(DEMO, "textures", "seq", f"flame.{frame:04d}.png"), sequence_colour(frame))
    for tile in (1001, 1002):
        write_png(os.path.join(DEMO, "textures", "udim", f"tiles.{tile}.png"), DEMO_COLOURS[f"udim_{tile}"])

    wood = bpy.data.images.load(wood_png)
    wood.filepath = "//textures/wood.png"
    card("Wood", -1.5, emissive_material("WoodMaterial", wood))

    flame = bpy.data.images.load(os.path.join(DEMO, "textures", "seq", "flame.0001.png"))
    flame.source = "SEQUENCE"
    flame.filepath = "//textures/seq/flame.0001.png"
    flame_material = emissive_material("FlameMaterial", flame)
    user = flame_material.node_tree.nodes["Image Texture"].image_user
    user.frame_duration, user.frame_start, user.frame_offset, user.use_auto_refresh = len(FRAMES), 1, 0, True
    card("Flame", -0.5, flame_material)

    tiles = bpy.data.images.load(os.path.join(DEMO, "textures", "udim", "tiles.1001.png"))
    tiles.source = "TILED"
    tiles.filepath = "//textures/udim/tiles.<UDIM>.png"
    tiles.tiles.new(tile_number=1002)
    tiles.reload()
    card("Tiles", 0.5, emissive_material("TilesMaterial", tiles), u_scale=2.0)

    with bpy.data.libraries.load(library, link=True, relative=True) as (data_from, data_to):
        data_to.objects = ["Prop"]
    for obj in data_to.objects:
        scene.collection.objects.link(obj)

    bpy.ops.object.camera_add(location=(0, 0, 10), rotation=(0, 0, 0))
    camera = bpy.context.active_object
    camera.data.type = "ORTHO"
    camera.data.ortho_scale = 4.0
    scene.camera = camera

    world = bpy.data.worlds.new("Black")
    world.color = (0, 0, 0)
    scene.world = world
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 4
    scene.cycles.use_denoising = False  # Debian's Blender is built without OpenImageDenoise
    scene.view_settings.view_transform = "Standard"
    scene.render.resolution_x, scene.render.resolution_y = 200, 100
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = "//render/frame_####"
    scene.frame_start, scene.frame_end = FRAMES[0], FRAMES[-1]
    bpy.ops.wm.save_as_mainfile(filepath=path, relative_remap=True)
    return path


def main() -> None:
    library = build_library()
    shot = build_shot(library)
    print(f"azrender demo: wrote {shot} (library {library})")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # --python-exit-code turns this into a failing exit status
        print(f"azrender demo: build failed: {exc}", file=sys.stderr)
        raise
