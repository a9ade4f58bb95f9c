"""Real Blender renders scenes whose textures moved to where a render node has them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SHARED_SCENES, run_blender
from pngpixels import close, pixel, read_png
from azrender.discovery.model import Dependency, Kind, SceneReport
from azrender.errors import SceneError
from azrender.node.pathtext import expand
from azrender.paths import blender as blend_copy
from azrender.paths.mapping import build_rules, map_dependencies
from azrender.jobs.nodetool import build_node_tool
from azrender.paths.blender import remap_arguments
from azrender.paths.model import map_local, rules_to_json
from azrender.paths.plan import plan_paths, write_submission_files
from azrender.paths.roots import derive_roots, storage_key
from azrender.paths.submission import copy_key

pytestmark = pytest.mark.blender
BUILD_SCENE = Path(__file__).with_name("blender_scene_with_textures.py")
REMAP = REPO / "core" / "azrender" / "node" / "blender_remap.py"
RED, GREEN = (255, 0, 0), (0, 255, 0)


@pytest.fixture
def artist_scene(blender, tmp_path):
    """A scene on the 'artist machine': a texture inside the project, one outside it, both absolute."""
    scene = tmp_path / "artist" / "proj" / "shot.blend"
    inside = tmp_path / "artist" / "proj" / "tex" / "red.png"
    outside = tmp_path / "artist" / "library" / "green.png"
    scene.parent.mkdir(parents=True)
    outside.parent.mkdir(parents=True)
    run_blender(blender, "--python", str(BUILD_SCENE), "--", str(scene), str(inside), str(outside))
    report = SceneReport(str(scene), [Dependency(str(p), True, Kind.TEXTURE, size=p.stat().st_size) for p in (inside, outside)])
    return scene, report


def deliver_to_node(report, roots, rules, node_env, mode="copy"):
    """What sync + the job preparation task (or the mount) do: each file lands at its node path."""
    for item in map_dependencies(report, roots, storage_mode=mode, node_os="linux", rules=rules):
        target = Path(_expand(item.node_path, node_env))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item.local_path, target)


def render(blender, scene: Path, out: Path, env, rules_file: Path | None = None, remap=()):
    remap = ("--python", str(REMAP)) if rules_file else tuple(remap)
    script_args = ("--", str(rules_file)) if rules_file else ()
    run_blender(blender, str(scene), *remap,
                "--python-expr", "import bpy; bpy.context.scene.cycles.use_denoising=False",
                "-E", "CYCLES", "-o", str(out / "frame_####"), "-F", "PNG", "-f", "1", *script_args, env=env)
    frame = out / "frame_0001.png"
    assert frame.exists()
    return frame


def shows_red_and_green(frame: Path) -> bool:
    """The left card shows the red texture and the right one the green (missing: magenta)."""
    width, height, _ = read_png(frame)
    left, right = pixel(frame, width // 4, height // 2), pixel(frame, 3 * width // 4, height // 2)
    return close(left, RED) and close(right, GREEN)


def demo_constants():
    """examples/build_demo.py's colours and pixel positions. Its annotations name bpy.types at
    import time, so outside Blender it is imported with a stand-in bpy (nothing else is used)."""
    import types

    sys.path.insert(0, str(REPO / "examples"))
    stand_in = types.SimpleNamespace(types=types.SimpleNamespace(Image=object, Material=object, Object=object))
    saved = sys.modules.get("bpy")
    sys.modules["bpy"] = stand_in
    try:
        import build_demo
    finally:
        sys.modules.pop("bpy") if saved is None else sys.modules.__setitem__("bpy", saved)
    return build_demo


def _expand(path: str, env: dict) -> str:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return expand(path)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_rewritten_submission_copy_renders_its_moved_textures(blender, artist_scene, tmp_path):
    scene, report = artist_scene
    roots = derive_roots([d.path for d in report.dependencies], str(scene))
    rules = build_rules(roots, storage_mode="copy", node_os="linux")
    node_env = {"AZ_BATCH_JOB_PREP_WORKING_DIR": str(tmp_path / "node" / "prep")}

    plan = blend_copy.plan_blend_copy(scene, rules)
    new_paths = sorted(r.new for r in plan.rewrites)
    assert len(new_paths) == 2 and "//tex/red.png" in new_paths
    assert all(p.startswith("//../") and p.endswith("/artist/library/green.png") for p in new_paths if "green" in p)
    assert not plan.left_for_node
    copy_on_node = Path(_expand(map_local(scene_copy := str(scene.with_suffix(".azrender.blend")), rules)[1], node_env))
    assert copy_key(storage_key(str(scene), roots)) == storage_key(scene_copy, roots)
    blend_copy.write_blend_copy(plan, copy_on_node)
    deliver_to_node(report, roots, rules, node_env)
    shutil.move(tmp_path / "artist", tmp_path / "artist-gone")  # the node has no artist paths

    frame = render(blender, copy_on_node, tmp_path / "out", node_env)
    assert shows_red_and_green(frame)


def test_node_remap_maps_absolute_paths_left_in_the_scene(blender, artist_scene, tmp_path):
    scene, report = artist_scene
    roots = derive_roots([d.path for d in report.dependencies], str(scene))
    rules = build_rules(roots, storage_mode="copy", node_os="linux")
    node_env = {"AZ_BATCH_JOB_PREP_WORKING_DIR": str(tmp_path / "node" / "prep")}
    deliver_to_node(report, roots, rules, node_env)
    on_node = Path(_expand(map_local(str(scene), rules)[1], node_env))
    shutil.copyfile(scene, on_node)  # the artist's file, its absolute paths untouched
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps(rules_to_json(rules)))
    shutil.move(tmp_path / "artist", tmp_path / "artist-gone")

    frame = render(blender, on_node, tmp_path / "out-unmapped", node_env)
    assert not shows_red_and_green(frame)  # the textures are really gone
    frame = render(blender, on_node, tmp_path / "out", node_env, rules_file)
    assert shows_red_and_green(frame)


def test_demo_with_absolute_sequence_udim_and_library_paths_renders_from_a_blobfuse_mount(blender, tmp_path):
    """Every kind of path: a texture, an image sequence, UDIM tiles, a linked library whose own
    texture path is absolute too, all made absolute on the artist's machine."""
    build_demo = demo_constants()
    artist = tmp_path / "artist" / "shot"
    run_blender(blender, "--python", str(REPO / "examples" / "build_demo.py"), "--", str(artist))
    scene = artist / "demo.blend"
    for blend in (scene, artist / "lib" / "props.blend"):
        run_blender(blender, str(blend), "--python-expr",
                    "import bpy; bpy.ops.file.make_paths_absolute(); bpy.ops.wm.save_mainfile()")
    files = [artist / "textures" / "wood.png", artist / "lib" / "props.blend", artist / "lib" / "maps" / "prop.png",
             *sorted((artist / "textures" / "seq").glob("flame.*.png")), *sorted((artist / "textures" / "udim").glob("*.png"))]
    report = SceneReport(str(scene), [Dependency(str(f), True, Kind.TEXTURE) for f in files])
    prep = tmp_path / "node" / "prep"  # the job's view is built there from the mount
    node_env = {"AZ_BATCH_JOB_PREP_WORKING_DIR": str(prep)}

    plan = plan_paths(report, storage_mode="blobfuse", node_os="linux", store_prefix="studio")
    assert {r.new for r in blend_copy.plan_blend_copy(scene, plan.rules).rewrites} == {
        "//textures/wood.png", "//textures/seq/flame.0001.png", "//textures/udim/tiles.<UDIM>.png", "//lib/props.blend"}
    files = write_submission_files(plan, tmp_path / "submission")
    for local, key in files.uploads:  # what sync uploads and the preparation task links into the view
        target = prep / "view" / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, target)
    shutil.move(tmp_path / "artist", tmp_path / "artist-gone")

    expected = {**build_demo.DEMO_COLOURS, "flame": build_demo.sequence_colour(3)}
    out = tmp_path / "out"
    run_blender(blender, _expand(plan.submitted_node_path, node_env), "--python-expr",
                "import bpy; bpy.context.scene.cycles.use_denoising=False",
                "-o", str(out / "frame_####"), "-F", "PNG", "-f", "3", env=node_env)
    for card, (x, y) in build_demo.CARD_PIXELS.items():
        assert close(pixel(out / "frame_0003.png", x, y), expected[card]), card

    # The artist's own file (all paths absolute) also renders there, through the node-side remap
    # alone: sequence, UDIM and a library reloaded from its node path.
    original_on_node = Path(_expand(map_local(str(scene), plan.rules)[1], node_env))
    shutil.copyfile(tmp_path / "artist-gone" / "shot" / "demo.blend", original_on_node)
    shutil.copyfile(files.rules_json, prep / "rules.json")
    out = tmp_path / "out-remapped"
    run_blender(blender, str(original_on_node), "--python", str(REMAP),
                "--python-expr", "import bpy; bpy.context.scene.cycles.use_denoising=False",
                "-o", str(out / "frame_####"), "-F", "PNG", "-f", "3",
                env={**node_env, "AZRENDER_PATH_RULES": "$AZ_BATCH_JOB_PREP_WORKING_DIR/rules.json"})  # expanded on the node
    for card, (x, y) in build_demo.CARD_PIXELS.items():
        assert close(pixel(out / "frame_0003.png", x, y), expected[card]), card


def test_submission_plan_end_to_end_check_then_render_and_check_fails_when_an_asset_is_absent(blender, artist_scene, tmp_path):
    """plan_paths + write_submission_files, files placed by key as sync and an Azure Files mount
    would, then on the 'node': the pre-render check, the remap and the render."""
    scene, report = artist_scene
    prep = tmp_path / "node" / "prep"  # the job's view, linked into the share's mount point
    share = prep / "view"
    plan = plan_paths(report, storage_mode="fileshare", node_os="linux", share="/mnt/share", store_prefix="studio")
    assert plan.problems == ()
    files = write_submission_files(plan, tmp_path / "submission")
    for local, key in files.uploads + ((str(files.rules_json), "submission/rules.json"),
                                       (str(files.needed_json), "submission/needed.json")):
        target = share / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, target)
    shutil.move(tmp_path / "artist", tmp_path / "artist-gone")

    # On the node, both run from the shipped node tool (the azrender_node.pyz zipapp).
    tool = tmp_path / "azrender_node.pyz"
    tool.write_bytes(build_node_tool())
    check = [sys.executable, str(tool), "check", str(share / "submission" / "needed.json")]
    env = {"PATH": os.environ["PATH"], "AZ_BATCH_JOB_PREP_WORKING_DIR": str(prep)}
    assert subprocess.run(check, env=env, capture_output=True, text=True).returncode == 0
    frame = render(blender, Path(_expand(plan.submitted_node_path, env)), tmp_path / "out", env,
                   remap=remap_arguments(str(tool), str(share / "submission" / "rules.json")))
    assert shows_red_and_green(frame)

    texture = next(Path(_expand(m.node_path, env)) for m in plan.mapped if m.local_path.endswith("green.png"))
    texture.unlink()
    failed = subprocess.run(check, env=env, capture_output=True, text=True)
    assert failed.returncode == 3 and str(texture) in failed.stderr


def test_plan_rewrites_a_real_windows_saved_blend_with_backslash_paths_across_roots(tmp_path):
    """01_textured_sphere.blend (Blender 2.78, saved on Windows): `//..\\environments\\field.hdr` and
    the library `//..\\pbr_node\\glTF2.blend` leave the scene's folder, so they land under another
    root; the copy must reach them there. Its PNGs beside the scene keep their paths."""
    gltf = SHARED_SCENES / "gltfio_blend"
    outside = [str(gltf.parent / "environments" / "field.hdr"), str(gltf.parent / "pbr_node" / "glTF2.blend")]
    roots = derive_roots([str(gltf / "01_Textured_Sphere_BaseColor.png"), *outside], str(gltf / "01_textured_sphere.blend"))
    top_folder = Path(*gltf.parts[:3])  # files outside the project go under their top two folders
    alias = next(r.alias for r in roots if r.prefix == str(top_folder))
    below = gltf.parent.relative_to(top_folder).as_posix()
    rules = build_rules(roots, storage_mode="copy", node_os="windows")
    plan = blend_copy.plan_blend_copy(gltf / "01_textured_sphere.blend", rules)
    assert sorted((r.block, r.new) for r in plan.rewrites) == [
        ("IMfield.hdr", f"//../{alias}/{below}/environments/field.hdr"),
        ("LILib", f"//../{alias}/{below}/pbr_node/glTF2.blend"),
    ]
    copy = blend_copy.write_blend_copy(plan, tmp_path / "01_textured_sphere.azrender.blend")
    from blender_asset_tracer import blendfile, trace

    written = {bytes(u.asset_path).decode() for u in trace.deps(copy) if Path(u.block.bfile.filepath) == copy}
    blendfile.close_all_cached()
    assert {r.new for r in plan.rewrites} <= written
    assert "//01_Textured_Sphere_BaseColor.png" in written  # beside the scene: untouched


def test_unreadable_blend_is_one_clear_error(tmp_path):
    broken = tmp_path / "broken.blend"
    broken.write_bytes((SHARED_SCENES / "gltfio_blend" / "01_textured_sphere.blend").read_bytes()[:5000])
    rules = build_rules(derive_roots([], str(broken)), storage_mode="copy", node_os="linux")
    with pytest.raises(SceneError, match="broken.blend: cannot read the .blend"):
        blend_copy.plan_blend_copy(broken, rules)


def test_node_remap_stops_blender_when_its_rules_are_unreadable(blender, tmp_path):
    bad = tmp_path / "rules.json"
    bad.write_text('{"version": 99, "rules": []}')
    for rules in (tmp_path / "absent.json", bad):
        proc = subprocess.run([blender, "-b", "--factory-startup", "--python-exit-code", "1", "--python", str(REMAP),
                               "-f", "1", "--", str(rules)], capture_output=True, text=True, timeout=120)
        assert proc.returncode != 0
        assert "azrender remap:" in proc.stdout + proc.stderr and "Traceback" not in proc.stdout + proc.stderr


BUILD_CACHE_AND_IES = """
import sys, bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.mesh.primitive_plane_add()
obj = bpy.context.active_object
obj.modifiers.new("cache", "MESH_CACHE").filepath = "/artist/proj/sim/cloth.pc2"
material = bpy.data.materials.new("m")
material.use_nodes = True
ies = material.node_tree.nodes.new("ShaderNodeTexIES")
ies.mode, ies.filepath = "EXTERNAL", "/artist/proj/ies/spot.ies"
obj.data.materials.append(material)
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[sys.argv.index("--") + 1], relative_remap=False)
"""
PRINT_CACHE_AND_IES = ("import bpy; print('PATHS', bpy.data.objects[0].modifiers['cache'].filepath, "
                       "bpy.data.materials['m'].node_tree.nodes['IES Texture'].filepath)")


def test_node_remap_covers_modifier_caches_and_ies_lights(blender, tmp_path):
    scene = tmp_path / "shot.blend"
    run_blender(blender, "--python-expr", BUILD_CACHE_AND_IES, "--", str(scene))
    roots = derive_roots(["/artist/proj/sim/cloth.pc2"], "/artist/proj/shot.blend")
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps(rules_to_json(build_rules(roots, storage_mode="copy", node_os="linux"))))
    proc = run_blender(blender, str(scene), "--python", str(REMAP), "--python-expr", PRINT_CACHE_AND_IES,
                       "--", str(rules_file), env={"AZ_BATCH_JOB_PREP_WORKING_DIR": "/node/prep"})
    line = next(l for l in proc.stdout.splitlines() if l.startswith("PATHS "))
    assert line.split()[1:] == ["/node/prep/view/assets/proj/sim/cloth.pc2",
                                "/node/prep/view/assets/proj/ies/spot.ies"]
