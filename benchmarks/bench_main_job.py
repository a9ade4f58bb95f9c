"""The main job against its peer, side by side: `azrender submit --wait` of the example scene's
8 frames on the local backend versus the same 8 `blender -b ... -f N` commands run one after
another by hand. Prints wall times and the ratio (target: at most 1.0 on 2 cores, where parallel
nodes must pay for discovery, sync, path mapping and job bookkeeping).

    .venv/bin/python benchmarks/bench_main_job.py [--frames 8] [--runs 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed(cmd, **kw) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--runs", type=int, default=2, help="repeat each side; the best time counts")
    args = parser.parse_args()
    blender = shutil.which("blender")
    if not blender:
        print("blender is not installed (scripts/setup)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([blender, "-b", "--factory-startup", "--python-exit-code", "1", "--python",
                        str(REPO / "examples" / "build_demo.py"), "--", str(tmp / "shot")],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        scene = tmp / "shot" / "demo.blend"
        env = {**os.environ, "PYTHONPATH": str(REPO / "core"), "AZRENDER_STATE_DIR": str(tmp / "state"),
               "AZRENDER_CACHE_DIR": str(tmp / "cache"), "AZRENDER_CONFIG_DIR": str(tmp / "config")}
        by_hand, azrender = [], []
        for run in range(args.runs):
            by_hand.append(sum(timed([blender, "-b", str(scene), "-o", str(tmp / f"hand{run}" / "frame_####"),
                                      "-F", "PNG", "-f", str(n)]) for n in range(1, args.frames + 1)))
            # Each run is a fresh job; after the first, assets are already in the store and on the nodes.
            azrender.append(timed([sys.executable, "-m", "azrender", "submit", str(scene), "--frames",
                                   f"1-{args.frames}", "--wait", "--download", str(tmp / f"az{run}")], env=env))
            frames = sorted((tmp / f"az{run}").glob("*.png"))
            if len(frames) != args.frames:
                print(f"azrender delivered {len(frames)} frames, expected {args.frames}", file=sys.stderr)
                return 1
    print(f"{args.frames} frames, {os.cpu_count()} cores, best of {args.runs}")
    print(f"  blender -f N one after another: {min(by_hand):6.2f} s")
    print(f"  azrender submit --wait (local): {min(azrender):6.2f} s   (first run {azrender[0]:.2f} s)")
    print(f"  ratio azrender / by hand:       {min(azrender) / min(by_hand):6.2f}   (target <= 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
