"""Blender discovery on real .blend files: the shared glTF-IO scenes, and scenes real Blender builds
here (textures relative/absolute/unicode/missing, an image sequence, UDIM tiles, a volume sequence,
a library that links a library)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from azrender.discovery.model import Kind
from azrender.discovery.scan import scan_scene
from azrender.errors import SceneError
from conftest import SHARED_SCENES, require, run_blender

GLTF = SHARED_SCENES / "gltfio_blend"


def shared(name: str) -> Path:
    path = GLTF / name
    require(path.exists(), f"shared scene {path}")
    return path


def write_png(path: Path) -> None:
    """A real 1x1 PNG (the content does not matter to discovery, the name does)."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\0\0\0"))
                     + chunk(b"IEND", b""))


# ---- the shared scenes (expected dependencies from SOURCES.md) ---------------------------------


def test_textured_sphere_lists_present_textures_and_missing_hdr_and_library():
    report = scan_scene(shared("01_textured_sphere.blend"))
    present = {Path(d.path).name for d in report.dependencies if d.exists}
    assert present == {"01_Textured_Sphere_BaseColor.png", "01_Textured_Sphere_Normal.png",
                       "01_Textured_Sphere_OcclusionRoughnessMetallic.png"}
    # Written with backslashes (//..\environments\field.hdr): resolved against the .blend's folder.
    assert sorted(report.missing) == sorted([str(SHARED_SCENES / "environments" / "field.hdr"),
                                             str(SHARED_SCENES / "pbr_node" / "glTF2.blend")])
    library = next(d for d in report.dependencies if d.kind is Kind.LIBRARY)
    assert not library.exists and library.path.endswith("glTF2.blend")


def test_udim_tiles_expand_to_the_sixteen_files_on_disk():
    report = scan_scene(shared("33_udim.blend"))
    names = sorted(Path(d.path).name for d in report.dependencies)
    expected = sorted(f"{stem}.{tile}.png" for stem in ("test", "test2", "test3", "test4")
                      for tile in (1001, 1002, 1011, 1012))
    assert names == expected
    assert all(d.exists and d.kind is Kind.TEXTURE for d in report.dependencies)
    assert {d.pattern for d in report.dependencies} == {str(GLTF / f"{s}.<UDIM>.png")
                                                        for s in ("test", "test2", "test3", "test4")}


def test_library_chain_is_followed_through_every_library():
    report = scan_scene(shared("21_scene.blend"))
    assert [Path(d.path).name for d in report.dependencies] == ["C.blend", "B.blend", "A.blend"]
    assert [Path(d.scene).name for d in report.dependencies] == ["21_scene.blend", "C.blend", "B.blend"]
    assert not report.missing


def test_missing_texture_is_reported_missing(run_cli):
    scene = shared("01_missing_textures.blend")
    proc = run_cli("deps", scene, "--json")
    assert proc.returncode == 3, proc.stderr
    out = json.loads(proc.stdout)
    assert out["missing"] == [str(GLTF / "MissingTexture.png")]
    assert out["dependencies"][0]["exists"] is False


def test_blender_5_file_with_new_header_is_read_and_has_no_external_files():
    # Blender 5.0 (BLENDER17-01v0502 header); its two images are generated, not files.
    report = scan_scene(shared("22_node_groups.blend"))
    assert report.dependencies == []


@pytest.mark.parametrize("content,problem", [
    (b"", "not a Blender file"),
    (b"this is not a blend file", "not a Blender file"),
    (None, "corrupt"),  # a real .blend cut short
])
def test_bad_blend_files_give_one_clear_error(tmp_path, run_cli, content, problem):
    bad = tmp_path / "bad scene.blend"
    bad.write_bytes(content if content is not None else shared("A.blend").read_bytes()[:4000])
    with pytest.raises(SceneError, match=problem) as info:
        scan_scene(bad)
    assert str(bad) in str(info.value)
    proc = run_cli("deps", bad)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr and str(bad) in proc.stderr


# ---- scenes real Blender builds ----------------------------------------------------------------

BUILD = r'''
import bpy, os, shutil, sys
root, absolute_texture = sys.argv[sys.argv.index("--") + 1:]

def image(name, path, source="FILE"):
    img = bpy.data.images.new(name, 4, 4)
    img.source = source
    img.filepath = path
    img.use_fake_user = True
    return img

def material(name, img):
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    node = mat.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = img
    mat.use_fake_user = True
    return mat

def empty_file():
    bpy.ops.wm.read_homefile(use_empty=True)

# lib_b.blend: a material whose texture sits beside lib_b (in libs/).
empty_file()
material("MatB", image("tex_b", "//tex_b.png"))
bpy.ops.wm.save_as_mainfile(filepath=os.path.join(root, "libs", "lib_b.blend"), relative_remap=False)

# lib_a.blend (in libs/deeper/): links MatB from lib_b and puts it on an object. Saved first, so
# the link is stored relative (//../lib_b.blend); the main scene below links lib_a by absolute path.
empty_file()
bpy.ops.wm.save_as_mainfile(filepath=os.path.join(root, "libs", "deeper", "lib_a.blend"))
with bpy.data.libraries.load(os.path.join(root, "libs", "lib_b.blend"), link=True, relative=True) as (src, dst):
    dst.materials = ["MatB"]
mesh = bpy.data.meshes.new("MeshA")
mesh.materials.append(dst.materials[0])
obj = bpy.data.objects.new("ObjA", mesh)
bpy.context.scene.collection.objects.link(obj)
bpy.ops.wm.save_mainfile()

# scene.blend: every kind of texture path, plus ObjA linked from lib_a.
empty_file()
image("relative", "//textures/wood.png")
image("absolute", absolute_texture)
image("unicode", "//textures/bois \u00e9t\u00e9\u00a0nbsp.png")
image("missing", "//textures/not_there.png")
image("sequence", "//seq/frame_0001.png", source="SEQUENCE")
image("tiles", "//udim/skin.<UDIM>.png", source="TILED")
volume = bpy.data.volumes.new("smoke")
volume.filepath = "//vdb/smoke_0010.vdb"
volume.is_sequence = True
volume.use_fake_user = True
with bpy.data.libraries.load(os.path.join(root, "libs", "deeper", "lib_a.blend"), link=True, relative=True) as (src, dst):
    dst.objects = ["ObjA"]
bpy.context.scene.collection.objects.link(dst.objects[0])
# A sound, a movie clip and a font (Blender's own font file, copied beside the scene).
shutil.copy(os.path.join(bpy.utils.system_resource("DATAFILES", path="fonts"), "DejaVuSans.woff2"),
            os.path.join(root, "media", "title.woff2"))
for datablock in (bpy.data.sounds.load(os.path.join(root, "media", "music.wav")),
                  bpy.data.movieclips.load(os.path.join(root, "media", "plate.mp4")),
                  bpy.data.fonts.load(os.path.join(root, "media", "title.woff2"))):
    datablock.use_fake_user = True
bpy.ops.wm.save_as_mainfile(filepath=os.path.join(root, "scene.blend"), relative_remap=False)
print("BUILT")
'''


@pytest.fixture(scope="module")
def built(blender, tmp_path_factory):
    root = tmp_path_factory.mktemp("blend project")
    outside = tmp_path_factory.mktemp("elsewhere") / "abs_tex.png"
    files = ["textures/wood.png", "textures/bois \u00e9t\u00e9\u00a0nbsp.png", "libs/tex_b.png",
             *(f"seq/frame_{n:04d}.png" for n in range(1, 6)), "udim/skin.1001.png", "udim/skin.1002.png",
             "udim/skin.1011.png"]
    for rel in files:
        write_png(root / rel)
    write_png(outside)
    (root / "libs" / "deeper").mkdir()
    (root / "media").mkdir()
    (root / "media" / "music.wav").write_bytes(b"RIFF not really a wav")
    (root / "media" / "plate.mp4").write_bytes(b"not really a movie")
    (root / "seq" / "unrelated_0001.png").write_bytes(b"x")  # same folder, another sequence
    for frame in (10, 11, 12):
        (root / "vdb").mkdir(exist_ok=True)
        (root / "vdb" / f"smoke_{frame:04d}.vdb").write_bytes(b"vdb")
    script = root / "build.py"
    script.write_text(BUILD, encoding="utf-8")
    proc = run_blender(blender, "--python", str(script), "--", str(root), str(outside))
    assert "BUILT" in proc.stdout
    return root, outside


def test_blender_built_scene_lists_every_file_it_uses(built):
    root, outside = built
    report = scan_scene(root / "scene.blend")
    by_path = {d.path: d for d in report.dependencies}
    expected_present = {
        str(root / "textures" / "wood.png"): (Kind.TEXTURE, "blend-relative"),
        str(outside): (Kind.TEXTURE, "absolute"),
        str(root / "textures" / "bois \u00e9t\u00e9\u00a0nbsp.png"): (Kind.TEXTURE, "blend-relative"),
        **{str(root / "seq" / f"frame_{n:04d}.png"): (Kind.TEXTURE, "blend-relative") for n in range(1, 6)},
        **{str(root / "udim" / f"skin.{t}.png"): (Kind.TEXTURE, "blend-relative") for t in (1001, 1002, 1011)},
        **{str(root / "vdb" / f"smoke_{f:04d}.vdb"): (Kind.VOLUME, "blend-relative") for f in (10, 11, 12)},
        str(root / "libs" / "deeper" / "lib_a.blend"): (Kind.LIBRARY, "absolute"),
        str(root / "libs" / "lib_b.blend"): (Kind.LIBRARY, "blend-relative"),
        str(root / "libs" / "tex_b.png"): (Kind.TEXTURE, "blend-relative"),
        str(root / "media" / "music.wav"): (Kind.SOUND, "absolute"),
        str(root / "media" / "plate.mp4"): (Kind.MOVIE, "absolute"),
        str(root / "media" / "title.woff2"): (Kind.FONT, "absolute"),
    }
    for path, (kind, how) in expected_present.items():
        assert path in by_path, f"{path} not found in {sorted(by_path)}"
        dep = by_path[path]
        assert (dep.exists, dep.kind, dep.resolved_by) == (True, kind, how), dep
        assert dep.size == os.path.getsize(path)
    assert report.missing == [str(root / "textures" / "not_there.png")]
    assert set(by_path) == set(expected_present) | set(report.missing)  # nothing unrelated (no unrelated_0001)
    # Each path is attributed to the file that holds it: tex_b.png is lib_b's, relative to libs/.
    assert by_path[str(root / "libs" / "tex_b.png")].scene == str(root / "libs" / "lib_b.blend")
    assert by_path[str(root / "seq" / "frame_0003.png")].pattern == str(root / "seq" / "frame_####.png")


def test_removing_a_nested_library_reports_it_missing(built, tmp_path):
    root, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    (copy / "libs" / "lib_b.blend").unlink()
    report = scan_scene(copy / "libs" / "deeper" / "lib_a.blend")  # links lib_b as //../lib_b.blend
    assert str(copy / "libs" / "lib_b.blend") in report.missing
    assert str(copy / "libs" / "tex_b.png") not in {d.path for d in report.dependencies}  # unknowable now


def test_deps_table_groups_by_kind_and_flags_missing(built, run_cli):
    root, _ = built
    proc = run_cli("deps", root / "scene.blend", env={"COLUMNS": "300"})
    assert proc.returncode == 3, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("texture (") and "1 missing" in line for line in lines)
    assert any(line.startswith("library (2)") for line in lines)
    assert any("MISSING" in line and "not_there.png" in line for line in lines)
    assert "1 missing" in lines[-1] and str(root / "scene.blend") in lines[-1]


def test_search_path_finds_a_file_moved_away(built, tmp_path, run_cli):
    root, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    elsewhere = tmp_path / "library of textures"
    elsewhere.mkdir()
    write_png(elsewhere / "not_there.png")
    proc = run_cli("deps", copy / "scene.blend", "--json", "--search-path", elsewhere)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = [d for d in json.loads(proc.stdout)["dependencies"] if d["path"] == str(elsewhere / "not_there.png")]
    assert found and found[0]["resolved_by"] == "search-path"
