"""A 10,000-frame job (one task per frame) built and sent, through the real azure-batch client,
to an endpoint that answers like Azure Batch (tests/batch_recorder.py, in its own process as a
real service would be).

Prints build and submit times (wall and this process's CPU), the number of requests, and the
ratio against the SDK's own ``create_tasks`` helper sending the same tasks (100-task chunks, no
size planning, no all-or-nothing). Target: build + submit under 3 s on a 2-core machine; the load
average is printed because the machine may be shared.

    .venv/bin/python benchmarks/bench_jobs.py [FRAMES]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core"), str(ROOT / "tests")]

from azure.core.credentials import AzureNamedKeyCredential  # noqa: E402

from azrender.backends.batch import make_client, submit_batch  # noqa: E402
from azrender.jobs.batch_models import to_batch_models  # noqa: E402
from azrender.jobs.build import build_job  # noqa: E402
from azrender.jobs.model import NodeAccess  # noqa: E402

ACCESS = NodeAccess("https://acct.blob.core.windows.net/assets/show?sv=2025-01-05&sp=rl&sig=abcdefabcdef",
                    "https://acct.blob.core.windows.net/renders?sv=2025-01-05&sp=cw&sig=abcdefabcdef")
CONCURRENCY = 4
SERVICE = """
import sys, time
sys.path.insert(0, sys.argv[1])
from batch_recorder import BatchRecorder
recorder = BatchRecorder(pools={"pool1": {"id": "pool1"}}).start()
print(recorder.url, flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
print(sum(len(t) for t in recorder.tasks.values()), len(recorder.requests), flush=True)
"""


def service():
    proc = subprocess.Popen([sys.executable, "-c", SERVICE, str(ROOT / "tests")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def stop(proc) -> tuple[int, int]:
    out, _ = proc.communicate("", timeout=60)
    tasks, requests = map(int, out.split())
    return tasks, requests


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(frames: int) -> int:
    credential = AzureNamedKeyCredential("acct", "YmVuY2htYXJrYmVuY2htYXJr")
    proc, url = service()
    client = make_client(url, credential)
    requests, build_wall, build_cpu = timed(lambda: to_batch_models(build_job(
        job_id="bench", host="blender", scene="$AZ_BATCH_NODE_SHARED_DIR/azrender/assets/p/s.blend",
        frames=f"1-{frames}", chunk=1, manifest_key="manifests/m.json", access=ACCESS, tool_key="tools/t.pyz",
        pool_id="pool1")))
    _, send_wall, send_cpu = timed(lambda: submit_batch(client, requests, max_concurrency=CONCURRENCY))
    tasks, sent = stop(proc)
    assert tasks == frames, (tasks, frames)

    proc, url = service()
    peer_client = make_client(url, credential)
    peer_client.create_job(requests.job)
    _, peer_wall, peer_cpu = timed(lambda: peer_client.create_tasks("bench", requests.tasks, max_concurrency=CONCURRENCY))
    tasks, _ = stop(proc)
    assert tasks == frames

    total = build_wall + send_wall
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{frames:,} frames: built in {build_wall:.2f} s (cpu {build_cpu:.2f}), submitted in {send_wall:.2f} s "
          f"(cpu {send_cpu:.2f}), {sent} requests; total {total:.2f} s, cpu {build_cpu + send_cpu:.2f} s "
          f"(target < 3 s: {'ok' if total < 3 else 'MISSED'})")
    print(f"SDK create_tasks, same tasks: {peer_wall:.2f} s (cpu {peer_cpu:.2f}); "
          f"ratio azrender/SDK submit = {send_wall / peer_wall:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
