#!/usr/bin/env python3
"""azrender sync vs ``rclone sync --transfers 16 --checkers 16``, side by side, same Azurite.

A generated asset tree (default 5,000 files, ~600 MB: 80 % small textures, 19 % medium, 1 % large
caches) goes through four passes: first upload; no change; 1 % of files changed (same size);
every file touched with its bytes unchanged. Each pass runs both tools as new processes (start-up
included) and prints azrender's time divided by rclone's, what each transferred, and azrender's
peak memory.

    .venv/bin/python benchmarks/bench_sync.py                      # the full size
    .venv/bin/python benchmarks/bench_sync.py --files 1000 --mb 140  # a quick run
    .venv/bin/python benchmarks/bench_sync.py --first-rounds 5       # first upload only, 5 interleaved rounds

``--first-rounds N`` repeats only the first upload N times, each round into new, empty containers
with an empty hash cache, the two tools alternating which goes first; it prints each round's ratio
with the load average and the median ratio (on a shared machine single runs swing by +-30 %).

Targets (ratios): first <= 0.75, no change <= 0.5, 1 % changed <= 1.0, touched <= 0.25; azrender
uploads nothing in passes 2 and 4 and exactly the changed files in pass 3, which (stored by content,
the first version kept) adds at most 2 % to the bytes stored; peak memory < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from conftest import Azurite, cli_env  # noqa: E402  (the same real Azurite the tests use)

TARGETS = {"first upload": 0.75, "no change": 0.5, "1% changed": 1.0, "touched": 0.25}
GROWTH_TARGET = 0.02  # bytes a second version with 1 % of files changed may add to the store
# share of files, share of bytes
MIX = {"small": (0.80, 0.11), "medium": (0.19, 0.34), "large": (0.01, 0.55)}


def generate_tree(root: Path, files: int, total_bytes: int, rng: random.Random) -> list[Path]:
    paths = []
    for kind, (file_share, byte_share) in MIX.items():
        count = max(1, round(files * file_share))
        mean = byte_share * total_bytes / count
        for i in range(count):
            path = root / kind / f"d{i % 40:02d}" / f"{kind}_{i:05d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(rng.randbytes(int(mean * rng.uniform(0.5, 1.5))))
            paths.append(path)
    return paths


def timed(cmd: list[str], env: dict) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall time, peak RSS (bytes) of exactly this process (wait4), and its output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return seconds, usage.ru_maxrss * 1024, subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())


def run_azrender(tree: Path, url: str, env: dict) -> tuple[float, int, dict]:
    seconds, peak, proc = timed([sys.executable, "-m", "azrender", "sync", str(tree), "--to", url, "--json"], env)
    if proc.returncode != 0:
        raise SystemExit(f"azrender failed ({proc.returncode}): {proc.stderr}")
    return seconds, peak, json.loads(proc.stdout)


def run_rclone(tree: Path, remote: str, env: dict) -> tuple[float, int]:
    seconds, _, proc = timed(["rclone", "sync", str(tree), remote, "--transfers", "16", "--checkers", "16",
                              "--retries", "1", "--low-level-retries", "2", "-v", "--stats", "0"], env)
    if proc.returncode != 0 or "ERROR" in proc.stderr:
        raise SystemExit(f"rclone failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, len(re.findall(r"INFO  : .*: Copied \(", proc.stderr))


def count_blobs(azurite: Azurite, container: str) -> int:
    return sum(1 for _ in azurite.blob_service().get_container_client(container).list_blobs())


def stored_bytes(azurite: Azurite, container: str) -> int:
    return sum(b.size for b in azurite.blob_service().get_container_client(container).list_blobs())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--mb", type=float, default=600, help="total size of the generated tree")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--first-rounds", type=int, default=0, metavar="N",
                        help="only the first upload, N interleaved rounds; prints the median ratio")
    args = parser.parse_args()
    if not shutil.which("rclone"):
        raise SystemExit("rclone is not installed (apt-get install rclone)")

    work = Path(tempfile.mkdtemp(prefix="azrender-bench-"))
    azurite = Azurite(work / "azurite").start()
    try:
        rng = random.Random(args.seed)
        tree = work / "assets"
        paths = generate_tree(tree, args.files, int(args.mb * 1e6), rng)
        total = sum(p.stat().st_size for p in paths)
        print(f"tree: {len(paths)} files, {total / 1e6:.0f} MB; Azurite at {azurite.endpoint}")
        service = azurite.blob_service()
        for name in ("azr", "rcl"):
            service.create_container(name)

        from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

        sas = generate_account_sas(azurite.account, azurite.key, ResourceTypes(service=True, container=True, object=True),
                                   AccountSasPermissions(read=True, write=True, delete=True, list=True, add=True,
                                                         create=True, update=True),
                                   expiry=datetime.now(timezone.utc) + timedelta(hours=4))
        rclone_env = dict(os.environ, RCLONE_CONFIG_AZ_TYPE="azureblob",
                          RCLONE_CONFIG_AZ_SAS_URL=f"{azurite.endpoint}?{sas}")
        azr_env = cli_env(AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string,
                          AZRENDER_CACHE_DIR=str(work / "cache"))
        azr_url = azurite.container_url("azr")
        if args.first_rounds:
            return first_rounds(args.first_rounds, tree, len(paths), azurite, rclone_env, work)

        def touch_all():
            stamp = time.time_ns()
            for p in paths:
                os.utime(p, ns=(stamp, stamp))

        changed = rng.sample(paths, max(1, len(paths) // 100))

        def change_one_percent():
            for p in changed:
                data = bytearray(p.read_bytes())
                data[len(data) // 2] ^= 0xFF
                p.write_bytes(bytes(data))

        passes = [("first upload", None), ("no change", None), ("1% changed", change_one_percent),
                  ("touched", touch_all)]
        rows, peak = [], 0
        growth = None
        for name, mutate in passes:
            if mutate:
                mutate()
            before = stored_bytes(azurite, "azr")
            r_s, r_n = run_rclone(tree, "az:rcl/assets", rclone_env)
            a_s, a_peak, out = run_azrender(tree, azr_url, azr_env)
            peak = max(peak, a_peak)
            if name == "1% changed":
                growth = (stored_bytes(azurite, "azr") - before) / before
            rows.append((name, a_s, r_s, out["uploaded"], r_n))
            print(f"  {name:13s} azrender {a_s:7.2f} s ({out['uploaded']:5d} uploaded)   "
                  f"rclone {r_s:7.2f} s ({r_n:5d} transferred)   ratio {a_s / r_s:5.2f} (target <= {TARGETS[name]})")
        assert count_blobs(azurite, "rcl") == len(paths), "rclone did not store every file"
        # every version's content (the first, and the 1 % changed files' new bytes) and the folder's manifest
        assert count_blobs(azurite, "azr") == len(paths) + len(changed) + 1, "azrender did not store every file"

        expected = {"first upload": len(paths), "no change": 0, "1% changed": len(changed), "touched": 0}
        print("\nratios (azrender / rclone):")
        ok = True
        for name, a_s, r_s, uploaded, _ in rows:
            good = a_s / r_s <= TARGETS[name] and uploaded == expected[name]
            ok &= good
            print(f"  {name:13s} {a_s / r_s:5.2f}  {'ok' if good else 'MISSED'}"
                  f"{'' if uploaded == expected[name] else f' (uploaded {uploaded}, expected {expected[name]})'}")
        grew = growth is not None and growth <= GROWTH_TARGET
        print(f"  second version adds {growth * 100:.2f} % to the bytes stored  {'ok' if grew else 'MISSED'} "
              f"(target <= {GROWTH_TARGET * 100:.0f} %)")
        print(f"  peak memory   {peak / 1e6:.0f} MB  {'ok' if peak < 300e6 else 'MISSED'} (target < 300 MB)")
        return 0 if ok and grew and peak < 300e6 else 1
    finally:
        azurite.stop()
        shutil.rmtree(work, ignore_errors=True)


def first_rounds(rounds: int, tree: Path, files: int, azurite: Azurite, rclone_env: dict, work: Path) -> int:
    import statistics

    service = azurite.blob_service()
    ratios = []
    for i in range(rounds):
        azr, rcl = f"azr{i}", f"rcl{i}"
        service.create_container(azr)
        service.create_container(rcl)
        env = cli_env(AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string,
                      AZRENDER_CACHE_DIR=str(work / f"cache{i}"))  # no hash known: a first sync
        load = os.getloadavg()[0]
        runs = [("rclone", lambda: run_rclone(tree, f"az:{rcl}/assets", rclone_env)[0]),
                ("azrender", lambda: run_azrender(tree, azurite.container_url(azr), env)[0])]
        times = {name: run() for name, run in (runs if i % 2 == 0 else runs[::-1])}
        assert count_blobs(azurite, azr) == files + 1 and count_blobs(azurite, rcl) == files
        ratios.append(times["azrender"] / times["rclone"])
        print(f"  round {i + 1}: azrender {times['azrender']:6.2f} s  rclone {times['rclone']:6.2f} s  "
              f"ratio {ratios[-1]:.2f}  (load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)")
        service.delete_container(azr)
        service.delete_container(rcl)
    median = statistics.median(ratios)
    ok = median <= TARGETS["first upload"]
    print(f"first upload, median of {rounds}: {median:.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})  "
          f"{'ok' if ok else 'MISSED'} (target <= {TARGETS['first upload']})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
