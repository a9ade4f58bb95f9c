"""The background agent: a submission handed over returns at once; the agent uploads, submits and
brings the frames home; killed mid-upload, the next agent finishes the same job."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from conftest import REPO, run_blender
from test_sync_engine import proxied  # noqa: F401  (Azurite behind tests/faultproxy.py)

pytestmark = [pytest.mark.blender, pytest.mark.azurite, pytest.mark.slow]
BIG = 48 * 2**20  # 12 blocks of 4 MB, each delayed by the proxy: seconds of upload to kill the agent in


def test_agent_killed_mid_upload_and_restarted_finishes_the_job(run_cli, blender, tmp_path, proxied, azurite, container):
    from faultproxy import Fault

    proxy, url = proxied
    scene, left, right = tmp_path / "shot" / "two.blend", tmp_path / "shot" / "left.png", tmp_path / "shot" / "right.png"
    scene.parent.mkdir()
    run_blender(blender, "--python", str(REPO / "tests" / "blender_scene_with_textures.py"), "--",
                str(scene), str(left), str(right))
    with open(left, "ab") as texture:  # a big texture: PNG readers stop at its end chunk
        texture.write(os.urandom(BIG))
    proxy.faults.append(Fault(None, method="PUT", path_contains="comp=block", delay=0.5))

    started = time.monotonic()
    proc = run_cli("submit", scene, "--frames", "1-2", "--background", "--storage-url", url, "--json")
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 20  # handed over: no upload in the submitting process
    [job] = json.loads(proc.stdout)["jobs"]
    agent_dir = tmp_path / "state" / "agent"

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the agent is uploading: some blocks are in, not all
        blocks = sum(1 for method, path, status in proxy.requests if method == "PUT" and "comp=block" in path and status == 201)
        if blocks >= 2:
            break
        time.sleep(0.1)
    log = agent_dir / "agent.log"
    assert blocks >= 2, (proxy.requests[-5:], log.read_text() if log.exists() else "no agent log")
    os.kill(int((agent_dir / "agent.pid").read_text()), signal.SIGKILL)
    time.sleep(0.5)
    assert (agent_dir / "inbox" / f"{job}.json").exists(), "the killed agent's submission is still to do"
    assert not (tmp_path / "state" / "jobs" / f"{job}.json").exists(), "nothing was submitted yet"

    before = len(proxy.requests)
    proc = run_cli("agent", timeout=600)  # a new agent resumes and stays until the frames are home
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (agent_dir / "inbox" / f"{job}.json").exists()
    resumed_blocks = sum(1 for method, path, status in proxy.requests[before:]
                         if method == "PUT" and "comp=block" in path and status == 201)
    assert resumed_blocks < BIG // (4 * 2**20), "the staged blocks were reused, not sent again"
    renders = scene.parent / "renders" / job
    assert sorted(p.name for p in renders.glob("*.png")) == ["frame_0001.png", "frame_0002.png"]
    assert (renders.parent / f"{job}.report.html").is_file()  # the agent's last word on the job
    status = json.loads(run_cli("status", job, "--json").stdout)
    assert status["counts"]["completed"] == 2 and not status["failed"] and status["gate"]["state"] == "done"
    stored = {b.name: b.size for b in azurite.blob_service().get_container_client(container).list_blobs()}
    assert left.stat().st_size in stored.values(), stored  # the big texture is in the store, whole
    rows = json.loads(run_cli("jobs", "--json").stdout)
    [row] = [r for r in rows if r["job_id"] == job]
    assert (row["where"], row["host"], row["scene"], row["state"], row["done"], row["total"]) == \
        ("This machine", "Blender", "two.blend", "done", 2, 2)
    text = run_cli("jobs").stdout
    assert f"{job}  done on This machine  Blender two.blend" in text and "\n    2/2 tasks done" in text
