"""A 10,000-frame job (one task per frame) built and sent to a local endpoint that answers like
Azure Batch (tests/batch_recorder.py), through the real azure-batch client.

Prints build time, submit time, the number of requests, and the ratio against the SDK's own
``create_tasks`` helper sending the same tasks (its default path: 100-task chunks, no size
planning). Target: build + submit under 3 s on a 2-core machine.

    .venv/bin/python benchmarks/bench_jobs.py [FRAMES]
"""

from __future__ import annotations

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
from batch_recorder import BatchRecorder  # noqa: E402

ACCESS = NodeAccess("https://acct.blob.core.windows.net/assets/show?sv=2025-01-05&sp=rl&sig=abcdefabcdef",
                    "https://acct.blob.core.windows.net/renders?sv=2025-01-05&sp=cw&sig=abcdefabcdef")
CONCURRENCY = 4


def main(frames: int) -> int:
    recorder = BatchRecorder(pools={"pool1": {"id": "pool1"}}).start()
    client = make_client(recorder.url, AzureNamedKeyCredential("acct", "YmVuY2htYXJrYmVuY2htYXJr"))
    try:
        started = time.perf_counter()
        spec = build_job(job_id="bench", host="blender", scene="$AZ_BATCH_NODE_SHARED_DIR/azrender/assets/p/s.blend",
                         frames=f"1-{frames}", chunk=1, manifest_key="manifests/m.json", access=ACCESS,
                         tool_key="tools/t.pyz", pool_id="pool1")
        requests = to_batch_models(spec)
        built = time.perf_counter()
        submit_batch(client, requests, max_concurrency=CONCURRENCY)
        ours = time.perf_counter() - built
        ours_requests = len(recorder.requests)
        assert len(recorder.tasks["bench"]) == frames

        recorder.requests.clear()
        client.create_job(requests.job.__class__({**requests.job.as_dict(), "id": "peer"}))
        peer_started = time.perf_counter()
        client.create_tasks("peer", requests.tasks, max_concurrency=CONCURRENCY)
        peer = time.perf_counter() - peer_started
        assert len(recorder.tasks["peer"]) == frames
    finally:
        recorder.stop()
    total = built - started + ours
    print(f"{frames:,} frames: built in {built - started:.2f} s, submitted in {ours:.2f} s "
          f"({ours_requests} requests), total {total:.2f} s (target < 3 s: {'ok' if total < 3 else 'MISSED'})")
    print(f"SDK create_tasks, same tasks: {peer:.2f} s; ratio azrender/SDK submit = {ours / peer:.2f}")
    return 0 if total < 3 else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
