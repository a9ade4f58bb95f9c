"""Real Blender renders scenes whose textures moved to where a render node has them."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import REPO, run_blender
from azrender.discovery.model import Dependency, Kind, SceneReport
from azrender.node.pathtext import expand
from azrender.paths import blender as blend_copy
from azrender.paths.mapping import build_rules, map_dependencies
from azrender.paths.model import map_local, rules_to_json
from azrender.paths.roots import derive_roots, storage_key
from azrender.paths.submission import copy_key

pytestmark = pytest.mark.blender
BUILD_SCENE = Path(__file__).with_name("blender_scene_with_textures.py")
REMAP = REPO / "core" / "azrender" / "node" / "blender_remap.py"
RED, GREEN = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)


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


def deliver_to_node(report, roots, rules, node_env):
    """What sync + the job preparation task do: each file lands at its node path."""
    for item in map_dependencies(report, roots, storage_mode="copy", node_os="linux", rules=rules):
        target = Path(_expand(item.node_path, node_env))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item.local_path, target)


def render(blender, scene: Path, out: Path, env, rules_file: Path | None = None):
    remap = ("--python", str(REMAP)) if rules_file else ()
    script_args = ("--", str(rules_file)) if rules_file else ()
    run_blender(blender, str(scene), *remap,
                "--python-expr", "import bpy; bpy.context.scene.cycles.use_denoising=False",
                "-E", "CYCLES", "-o", str(out / "frame_####"), "-F", "PNG", "-f", "1", *script_args, env=env)
    frame = out / "frame_0001.png"
    assert frame.exists()
    return frame


def left_and_right_colours(blender, frame: Path):
    proc = run_blender(blender, "--python-expr",
                       "import bpy; im = bpy.data.images.load(%r); w, h = im.size; p = im.pixels[:]\n"
                       "def at(x, y): i = (y * w + x) * 4; return [round(v, 2) for v in p[i:i + 3]]\n"
                       "print('LEFT', at(w // 4, h // 2), 'RIGHT', at(3 * w // 4, h // 2))" % str(frame))
    line = next(l for l in proc.stdout.splitlines() if l.startswith("LEFT"))
    left, right = line[5:].split(" RIGHT ")
    return tuple(json.loads(left)), tuple(json.loads(right))


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
    node_env = {"AZ_BATCH_NODE_SHARED_DIR": str(tmp_path / "node" / "shared")}

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
    assert left_and_right_colours(blender, frame) == (RED, GREEN)


def test_node_remap_maps_absolute_paths_left_in_the_scene(blender, artist_scene, tmp_path):
    scene, report = artist_scene
    roots = derive_roots([d.path for d in report.dependencies], str(scene))
    rules = build_rules(roots, storage_mode="copy", node_os="linux")
    node_env = {"AZ_BATCH_NODE_SHARED_DIR": str(tmp_path / "node" / "shared")}
    deliver_to_node(report, roots, rules, node_env)
    on_node = Path(_expand(map_local(str(scene), rules)[1], node_env))
    shutil.copyfile(scene, on_node)  # the artist's file, its absolute paths untouched
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps(rules_to_json(rules)))
    shutil.move(tmp_path / "artist", tmp_path / "artist-gone")

    frame = render(blender, on_node, tmp_path / "out-unmapped", node_env)
    assert left_and_right_colours(blender, frame) != (RED, GREEN)  # the textures are really gone
    frame = render(blender, on_node, tmp_path / "out", node_env, rules_file)
    assert left_and_right_colours(blender, frame) == (RED, GREEN)
