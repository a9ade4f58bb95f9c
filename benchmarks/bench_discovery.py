"""Discovery speed against real peers (a plain script, not a test).

1. A generated Maya ASCII scene with 50,000 file nodes (each with its place2dTexture and the
   connections Maya writes): ``scan_scene`` end to end, and the parse alone. Target: under 2 s.
2. A .blend with 5,000 images built by real Blender: ``scan_scene`` versus opening the file in
   Blender and calling ``bpy.utils.blend_paths()`` (what an in-app tool would do), timed both as a
   whole Blender run and inside Blender (load + blend_paths only). Target: at least 5x faster.
3. ``azrender deps`` on 100,000 dependencies: the table (piped, as a script or pager reads it)
   against ``--json`` of the same scene, as a CPU ratio. Target: at most 2x.

    .venv/bin/python benchmarks/bench_discovery.py [--nodes 50000] [--images 5000]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from azrender.discovery import maya_ascii, maya_nodes  # noqa: E402
from azrender.discovery.scan import scan_scene  # noqa: E402
from azrender.plugins import new_plugin_manager  # noqa: E402

PLACE2D_CONNECTIONS = ("c", "tf", "rf", "mu", "mv", "s", "wu", "wv", "re", "of", "r", "n", "vt1", "vt2",
                       "vt3", "vc1", "o", "ofs")


def write_maya_scene(folder: Path, nodes: int) -> Path:
    (folder / "sourceimages").mkdir(parents=True)
    lines = ["//Maya ASCII 2023 scene\n//Name: big.ma\n//Codeset: 1252\nrequires maya \"2023\";\n"]
    for i in range(nodes):
        name = f"tex_{i:05d}.png"
        (folder / "sourceimages" / name).write_bytes(b"")
        lines.append(
            f'createNode file -n "file{i}";\n\trename -uid "{i:08X}-4B1C-9C7D-1A2B-3C4D5E6F7A8B";\n'
            f'\tsetAttr ".ftn" -type "string" "sourceimages/{name}";\n'
            f'\tsetAttr ".cs" -type "string" "sRGB";\n'
            f'createNode place2dTexture -n "place2dTexture{i}";\n\trename -uid "{i:08X}-AAAA-BBBB";\n'
        )
        lines.extend(f'connectAttr "place2dTexture{i}.{a}" "file{i}.{a}";\n' for a in PLACE2D_CONNECTIONS)
        lines.append(f'connectAttr "file{i}.oc" ":defaultTextureList1.tx" -na;\n')
    scene = folder / "scenes" / "big.ma"
    scene.parent.mkdir()
    scene.write_text("".join(lines), encoding="cp1252")
    (folder / "workspace.mel").write_text('workspace -fr "images" "images";\n')
    return scene


BUILD_BLEND = r'''
import bpy, sys
out, count = sys.argv[sys.argv.index("--") + 1:]
bpy.ops.wm.read_homefile(use_empty=True)
for i in range(int(count)):
    img = bpy.data.images.new(f"img{i}", 4, 4)
    img.source = "FILE"
    img.filepath = f"//textures/tex_{i:05d}.png"
    img.use_fake_user = True
bpy.ops.wm.save_as_mainfile(filepath=out)
'''

BLEND_PATHS = r'''
import bpy, sys, time
path = sys.argv[sys.argv.index("--") + 1]
start = time.perf_counter()
bpy.ops.wm.open_mainfile(filepath=path)
paths = bpy.utils.blend_paths(absolute=True)
print("INSIDE", time.perf_counter() - start, len(paths))
'''


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the machine may be shared, so
    wall time alone says little)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def best_of(runs: int, fn):
    """(best wall seconds, best CPU seconds, result) over ``runs`` runs."""
    walls, cpus = [], []
    result = None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), _cpu()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - start_cpu)
    return min(walls), min(cpus), result


def bench_maya(folder: Path, nodes: int) -> None:
    scene = write_maya_scene(folder / "maya", nodes)
    table = maya_nodes.build_table()
    text, _ = maya_ascii.decode(scene.read_bytes(), str(scene))
    parse_wall, parse_cpu, refs = best_of(3, lambda: maya_ascii.parse(text, str(scene), table))
    pm = new_plugin_manager(load_entry_points=False)
    scan_wall, scan_cpu, report = best_of(3, lambda: scan_scene(scene, plugin_manager=pm))
    assert len(refs) == nodes and len(report.dependencies) == nodes and not report.missing
    size = scene.stat().st_size / 1e6
    print(f"Maya ASCII, {nodes} file nodes ({size:.0f} MB):\n"
          f"  parse alone        {parse_wall:.2f} s wall, {parse_cpu:.2f} s CPU\n"
          f"  scan_scene (+stat) {scan_wall:.2f} s wall, {scan_cpu:.2f} s CPU"
          f" -> {2 / scan_cpu:.2f}x the 2 s target (CPU)")


def bench_blend(folder: Path, images: int, blender: str) -> None:
    blend = folder / "blend" / "many.blend"
    (blend.parent / "textures").mkdir(parents=True)
    for i in range(images):
        (blend.parent / "textures" / f"tex_{i:05d}.png").write_bytes(b"")
    script = folder / "build.py"
    script.write_text(BUILD_BLEND)
    subprocess.run([blender, "-b", "--factory-startup", "--python", str(script), "--", str(blend), str(images)],
                   check=True, capture_output=True)
    pm = new_plugin_manager(load_entry_points=False)
    ours_wall, ours_cpu, report = best_of(3, lambda: scan_scene(blend, plugin_manager=pm))
    assert len(report.dependencies) == images and not report.missing
    probe = folder / "probe.py"
    probe.write_text(BLEND_PATHS)
    inside = []

    def run_blender():
        proc = subprocess.run([blender, "-b", "--factory-startup", "--python", str(probe), "--", str(blend)],
                              check=True, capture_output=True, text=True)
        line = next(x for x in proc.stdout.splitlines() if x.startswith("INSIDE"))
        inside.append(float(line.split()[1]))
        assert int(line.split()[2]) == images

    blender_wall, blender_cpu, _ = best_of(3, run_blender)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "core"))
    cli_wall, cli_cpu, _ = best_of(3, lambda: subprocess.run(
        [sys.executable, "-m", "azrender", "deps", str(blend), "--json"], env=env, capture_output=True, check=True))
    print(f".blend with {images} images:\n"
          f"  azrender scan_scene            {ours_wall:.2f} s wall, {ours_cpu:.2f} s CPU\n"
          f"  azrender deps --json (process) {cli_wall:.2f} s wall, {cli_cpu:.2f} s CPU\n"
          f"  blender -b + blend_paths()     {blender_wall:.2f} s wall, {blender_cpu:.2f} s CPU\n"
          f"  -> scan_scene {blender_wall / ours_wall:.1f}x faster (wall), {blender_cpu / ours_cpu:.1f}x (CPU); "
          f"whole command {blender_wall / cli_wall:.1f}x (wall), {blender_cpu / cli_cpu:.1f}x (CPU)\n"
          f"  inside an already running Blender (open_mainfile + blend_paths) {min(inside):.2f} s"
          f" -> {min(inside) / ours_wall:.2f}x (Blender wins once it is running)")


def bench_deps_table(folder: Path, nodes: int) -> None:
    scene = write_maya_scene(folder / "deps", nodes)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "core"),
           "AZRENDER_STATE_DIR": str(folder / "state"), "AZRENDER_CACHE_DIR": str(folder / "cache"),
           "AZRENDER_CONFIG_DIR": str(folder / "config")}

    def deps(*extra):
        return lambda: subprocess.run([sys.executable, "-m", "azrender", "deps", str(scene), *extra], env=env,
                                      stdout=subprocess.DEVNULL, check=True)

    json_wall, json_cpu, _ = best_of(2, deps("--json"))
    table_wall, table_cpu, _ = best_of(2, deps())
    print(f"azrender deps, {nodes} dependencies, piped:\n"
          f"  --json  {json_wall:.2f} s wall, {json_cpu:.2f} s CPU\n"
          f"  table   {table_wall:.2f} s wall, {table_cpu:.2f} s CPU -> {table_cpu / json_cpu:.2f}x --json "
          "(target: at most 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=50_000)
    parser.add_argument("--images", type=int, default=5_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="azrender-bench-"))
    try:
        bench_maya(folder, args.nodes)
        bench_deps_table(folder, 100_000)
        blender = os.environ.get("AZRENDER_BLENDER") or shutil.which("blender")
        if blender:
            bench_blend(folder, args.images, blender)
        else:
            print("Blender not found: .blend comparison skipped")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
