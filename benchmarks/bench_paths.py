"""Path mapping at scale, and the Blender submission copy against the peer way of rewriting paths.

1. ``plan_paths`` for a scene with N dependencies (Windows, UNC and POSIX paths, outside and inside
   the project): roots, rules, keys, node paths and portability checks. Target: 50,000 in < 3 s.
2. The .blend submission copy written headless (blender-asset-tracer, what azrender does) against
   opening the scene in real Blender to rewrite its paths and save it (what submitters that remap
   inside the host do), on the example scene with every path absolute. Prints the ratio.

    .venv/bin/python benchmarks/bench_paths.py [N]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core")]

from azrender.discovery.model import Dependency, Kind, SceneReport  # noqa: E402
from azrender.paths.blender import plan_blend_copy, write_blend_copy  # noqa: E402
from azrender.paths.mapping import build_rules  # noqa: E402
from azrender.paths.plan import plan_paths  # noqa: E402
from azrender.paths.roots import derive_roots  # noqa: E402


def bench_mapping(count: int) -> None:
    origins = [r"C:\proj\tex\set{0}\wood_{1}.png", r"D:\library\hdri\sky_{1}.exr",
               r"\\nas\assets\trees\oak_{0}\bark_{1}.tif", "/mnt/cache/sim/frame_{1}.vdb"]
    deps = [Dependency(origins[i % 4].format(i % 97, i), True, Kind.TEXTURE) for i in range(count)]
    report = SceneReport(r"C:\proj\shot.ma", deps)
    started = time.perf_counter()
    plan = plan_paths(report, storage_mode="copy", node_os="linux")
    elapsed = time.perf_counter() - started
    print(f"plan_paths: {count} dependencies in {elapsed:.2f} s ({count / elapsed:,.0f}/s), "
          f"{len(plan.roots)} roots, {len(plan.problems)} problems")


def bench_blend_copy(blender: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-paths-"))
    try:
        artist = work / "shot"
        run = [blender, "-b", "--factory-startup", "--python-exit-code", "1"]
        subprocess.run([*run, "--python", str(ROOT / "examples" / "build_demo.py"), "--", str(artist)],
                       check=True, capture_output=True)
        scene = artist / "demo.blend"
        subprocess.run([*run, str(scene), "--python-expr",
                        "import bpy; bpy.ops.file.make_paths_absolute(); bpy.ops.wm.save_mainfile()"],
                       check=True, capture_output=True)
        rules = build_rules(derive_roots([], str(scene)), storage_mode="copy", node_os="linux")

        started = time.perf_counter()
        plan = plan_blend_copy(scene, rules)
        write_blend_copy(plan, work / "azrender.blend")
        ours = time.perf_counter() - started

        started = time.perf_counter()
        subprocess.run([*run, str(scene), "--python-expr",
                        "import bpy; bpy.ops.file.make_paths_relative(); "
                        f"bpy.ops.wm.save_as_mainfile(filepath={str(artist / 'peer.blend')!r}, copy=True)"],
                       check=True, capture_output=True)
        peer = time.perf_counter() - started
        print(f"blend copy: azrender headless {ours:.2f} s ({len(plan.rewrites)} paths), "
              f"Blender in background {peer:.2f} s: {peer / ours:.1f}x faster")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    bench_mapping(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
    blender = shutil.which("blender")
    if blender:
        bench_blend_copy(blender)
    else:
        print("blend copy: skipped (no blender on PATH)")
