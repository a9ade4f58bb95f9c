"""The node-side pre-render check: a task whose assets did not arrive fails at once, naming them."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO
from azrender.discovery.model import Dependency, Kind, SceneReport
from azrender.paths.mapping import map_dependencies
from azrender.paths.roots import derive_roots

NODE_MODULES = ["pathtext", "check", "blender_remap"]


def run_check(needed, shared_dir, tmp_path):
    listing = tmp_path / "needed.json"
    listing.write_text(json.dumps(needed))
    # -I: no user site, no PYTHONPATH: only the standard library and the node package itself.
    code = f"import sys; sys.path.insert(0, {str(REPO / 'core')!r}); from azrender.node import check; sys.exit(check.main([{str(listing)!r}]))"
    env = {"AZ_BATCH_JOB_PREP_WORKING_DIR": str(shared_dir), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, env=env, timeout=60)


def node_paths_for(tmp_path):
    scene = r"C:\proj\shot.ma"
    deps = [r"C:\proj\tex\wood.png", r"D:\lib\sky.exr", r"C:\proj\tex\udim.1001.exr"]
    report = SceneReport(scene, [Dependency(p, True, Kind.TEXTURE) for p in deps])
    mapped = map_dependencies(report, derive_roots(deps, scene), storage_mode="copy", node_os="linux")
    return [m.node_path for m in mapped]


def test_check_fails_the_task_and_names_every_missing_file(tmp_path):
    shared = tmp_path / "shared"
    needed = node_paths_for(tmp_path)
    present = shared / "view" / "assets" / "proj" / "tex" / "wood.png"
    present.parent.mkdir(parents=True)
    present.write_bytes(b"png")
    proc = run_check(needed, shared, tmp_path)
    assert proc.returncode == 3
    assert "2 of 3 files" in proc.stderr
    assert str(shared / "view/assets/d-lib/sky.exr") in proc.stderr
    assert str(shared / "view/assets/proj/tex/udim.1001.exr") in proc.stderr
    assert str(present) not in proc.stderr


def test_check_passes_when_everything_arrived(tmp_path):
    shared = tmp_path / "shared"
    needed = node_paths_for(tmp_path)
    for rel in ("proj/tex/wood.png", "d-lib/sky.exr", "proj/tex/udim.1001.exr"):
        target = shared / "view" / "assets" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"x")
    proc = run_check(needed, shared, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "all 3 files present" in proc.stdout


def test_check_rejects_a_bad_listing_in_one_line(tmp_path):
    proc = run_check({"not": "a list"}, tmp_path, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("must hold a JSON list of paths")


def test_node_modules_import_nothing_outside_the_standard_library():
    code = (f"import sys; sys.path.insert(0, {str(REPO / 'core')!r}); before = set(sys.modules)\n"
            + "".join(f"import azrender.node.{m}\n" for m in NODE_MODULES)
            + "extra = sorted(m for m in set(sys.modules) - before if m.split('.')[0] not in sys.stdlib_module_names"
              " and not m.startswith('azrender'))\nprint(extra)")
    proc = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
