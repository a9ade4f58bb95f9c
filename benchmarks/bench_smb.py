#!/usr/bin/env python3
"""azrender sync to an SMB 3 share vs ``rclone sync`` (its smb backend), side by side, same Samba
(a private smbd on 127.0.0.1 with encryption required, as the tests start it; needs root).

The same generated tree and passes as bench_sync.py: first upload; no change; 1 % of files changed
(same size); every file touched with its bytes unchanged. Each pass runs both tools as new
processes and prints azrender's time divided by rclone's and what each transferred.

    sudo .venv/bin/python benchmarks/bench_smb.py                      # 1,000 files, 140 MB
    sudo .venv/bin/python benchmarks/bench_smb.py --files 5000 --mb 700
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "benchmarks")]
import sambaserver  # noqa: E402  (the same real Samba the tests use)
from bench_sync import generate_tree, run_azrender, timed  # noqa: E402
from conftest import cli_env, free_port  # noqa: E402


def run_rclone(tree: Path, remote: str, env: dict) -> tuple[float, int]:
    import re

    seconds, _, proc = timed(["rclone", "sync", str(tree), remote, "--transfers", "16", "--checkers", "16",
                              "--retries", "3", "--low-level-retries", "2", "-v", "--stats", "0"], env)  # its mkdir races
    if proc.returncode != 0:
        raise SystemExit(f"rclone failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, len(re.findall(r"INFO  : .*: Copied \\(", proc.stderr))


def passes(paths: list[Path], rng) -> tuple[list, dict]:
    """bench_sync's four passes and how many files each must upload."""
    import time

    changed = rng.sample(paths, max(1, len(paths) // 100))

    def touch_all():
        stamp = time.time_ns()
        for p in paths:
            os.utime(p, ns=(stamp, stamp))

    def change_one_percent():
        for p in changed:
            data = bytearray(p.read_bytes())
            data[len(data) // 2] ^= 0xFF
            p.write_bytes(bytes(data))

    expected = {"first upload": len(paths), "no change": 0, "1% changed": len(changed), "touched": 0}
    return [("first upload", None), ("no change", None), ("1% changed", change_one_percent),
            ("touched", touch_all)], expected


def main() -> int:
    import random

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mb", type=float, default=140, help="total size of the generated tree")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if not shutil.which("rclone"):
        raise SystemExit("rclone is not installed (apt-get install rclone)")
    if not sambaserver.available():
        raise SystemExit("needs smbd (apt-get install samba) and root")

    work = Path(tempfile.mkdtemp(prefix="azrender-bench-smb-"))
    samba = sambaserver.Samba(work / "samba", free_port()).start()
    try:
        rng = random.Random(args.seed)
        tree = work / "assets"
        paths = generate_tree(tree, args.files, int(args.mb * 1e6), rng)
        total = sum(p.stat().st_size for p in paths)
        print(f"tree: {len(paths)} files, {total / 1e6:.0f} MB; Samba on 127.0.0.1:{samba.port} (encryption required)")
        obscured = subprocess.run(["rclone", "obscure", samba.password], capture_output=True, text=True).stdout.strip()
        rclone_env = dict(os.environ, RCLONE_CONFIG_SMB_TYPE="smb", RCLONE_CONFIG_SMB_HOST="127.0.0.1",
                          RCLONE_CONFIG_SMB_PORT=str(samba.port), RCLONE_CONFIG_SMB_USER=samba.user,
                          RCLONE_CONFIG_SMB_PASS=obscured)
        azr_env = cli_env(AZRENDER_SMB_PASSWORD=samba.password, AZRENDER_CACHE_DIR=str(work / "cache"))

        steps, expected = passes(paths, rng)
        rows = []
        for name, mutate in steps:
            if mutate:
                mutate()
            r_s, r_n = run_rclone(tree, "smb:render/rcl/assets", rclone_env)
            a_s, _, out = run_azrender(tree, samba.url("azr"), azr_env)
            rows.append((name, a_s, r_s, out["uploaded"]))
            print(f"  {name:13s} azrender {a_s:7.2f} s ({out['uploaded']:5d} uploaded)   "
                  f"rclone {r_s:7.2f} s ({r_n:5d} transferred)   ratio {a_s / r_s:5.2f}")
        print("\nratios (azrender / rclone):")
        ok = True
        for name, a_s, r_s, uploaded in rows:
            ok &= uploaded == expected[name]
            print(f"  {name:13s} {a_s / r_s:5.2f}" + ("" if uploaded == expected[name]
                                                     else f"  (uploaded {uploaded}, expected {expected[name]})"))
        return 0 if ok else 1
    finally:
        samba.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
