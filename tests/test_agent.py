"""The background agent: a submission handed over returns at once; the agent uploads, submits and
brings the frames home; killed mid-upload, the next agent finishes the same job."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

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
    waiting = run_cli("status", job)
    assert waiting.returncode == 0 and waiting.stdout.startswith(f"{job}: uploading (with the background agent): ")

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


def test_a_handed_over_request_comes_back_exactly_as_the_host_collected_it(tmp_path):
    from azrender.agent import decode, encode
    from azrender.discovery.model import Dependency, Kind, SceneReport
    from azrender.pipeline import SubmitRequest

    report = SceneReport(scene=str(tmp_path / "a.blend"), warnings=["w"], dependencies=[
        Dependency(path=str(tmp_path / "t.png"), exists=False, kind=Kind("texture"), source="Material", size=None)])
    request = SubmitRequest(scene=tmp_path / "a.blend", frames="1-3", backend="local", report=report,
                            search_paths=(tmp_path,), budget=2.5, job_id="a-1")
    back = decode(json.loads(json.dumps(encode(request))))
    assert back == request and isinstance(back.search_paths, tuple) and back.backend is request.backend
    with pytest.raises(ValueError, match="not an azrender type"):
        decode({"dataclass": "subprocess:Popen", "fields": {"args": ["true"]}})


# ---- the built Blender add-on hands its submission over and quits ----------------------------------

from test_hosts_blender import demo  # noqa: E402,F401  (the example scene)
from test_hosts_blender_versions import host_env, result_of, run_host  # noqa: E402

ARTIST = REPO / "tests" / "blender_addon_agent.py"


def test_the_built_addon_hands_over_blender_quits_mid_upload_and_the_frames_come_back(
        blender, addon_zip, demo, tmp_path, proxied):
    """Debian's Blender 3.4 with the zip installed as an artist does: Render on Azure hands the job to
    the agent and Blender quits while the upload (a second per request, through the proxy) is far
    from done; the agent uploads, the job renders, the frames come home; the next time the scene is
    opened the panel shows the job's last frame, loaded as an image with that frame's pixels."""
    import shutil
    import sys

    from faultproxy import Fault
    from pngpixels import close, pixel

    sys.path.insert(0, str(REPO / "examples"))
    import build_demo

    proxy, url = proxied
    shot = tmp_path / "artist" / "demo.blend"
    shutil.copytree(demo.parent, shot.parent)
    dirs = {"AZRENDER_STATE_DIR": str(tmp_path / "state"), "AZRENDER_CONFIG_DIR": str(tmp_path / "config"),
            "AZRENDER_CACHE_DIR": str(tmp_path / "cache")}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(f'[profiles.artist]\nstorage_url = "{url}"\n')
    proxy.faults.append(Fault(None, method="PUT", delay=1.0))
    env = host_env(tmp_path / "home", **dirs)

    started = time.time()
    proc = run_host("3.4", blender, ARTIST, str(addon_zip), str(shot), "1-2", "submit", env=env)
    quit_at = time.time()
    out = result_of(proc)
    assert out["submit"] == ["FINISHED"], out
    [[job, backend, line]] = out["jobs"]
    assert backend == "local" and line == "uploading: waiting for the agent"
    inbox, record = tmp_path / "state" / "agent" / "inbox" / f"{job}.json", tmp_path / "state" / "jobs" / f"{job}.json"
    assert inbox.exists() and not record.exists(), "Blender quit before the upload was done"
    puts_at_quit = sum(1 for method, _, status in proxy.requests if method == "PUT" and status == 201)

    renders = shot.parent / "renders" / job
    report = renders.parent / f"{job}.report.html"
    deadline = time.time() + 600
    while not report.exists() and time.time() < deadline:  # the agent's last word on the job
        time.sleep(1)
    log = tmp_path / "state" / "agent" / "agent.log"
    assert report.exists(), log.read_text() if log.exists() else "no agent log"
    puts = sum(1 for method, _, status in proxy.requests if method == "PUT" and status == 201)
    assert puts > puts_at_quit and not inbox.exists() and record.exists()  # the agent finished the upload
    assert not list(shot.parent.glob("*azrender-submit*"))  # and removed the submission copy
    frames = sorted(renders.rglob("*.png"))  # where the demo scene says: //render/frame_####
    assert [f.relative_to(renders).as_posix() for f in frames] == ["render/frame_0001.png", "render/frame_0002.png"]
    for n, frame_png in enumerate(frames, start=1):
        expected = {**build_demo.DEMO_COLOURS, "flame": build_demo.sequence_colour(n)}
        for card, (x, y) in build_demo.CARD_PIXELS.items():
            assert close(pixel(frame_png, x, y), expected[card]), f"{frame_png.name}: {card}"
    print(f"Blender ran {quit_at - started:.1f} s (install, open, submit, save); the agent made {puts - puts_at_quit} "
          f"of the {puts} upload requests after it quit and brought the frames {time.time() - quit_at:.0f} s later")

    lines = [line[len("PREVIEW "):] for line in run_host("3.4", blender, ARTIST, str(addon_zip), str(shot), "1-2",
                                                          "preview", env=env).stdout.splitlines()
             if line.startswith("PREVIEW ")]
    seen = json.loads(lines[-1])
    [[_, _, state, folder]] = seen["jobs"]
    assert state == "completed: 2/2 tasks done" and folder == str(renders)
    image = seen["image"]
    assert image and image["name"] == "azrender last frame" and image["job"] == job and image["size"] == [200, 100]
    shown = Path(image["file"])
    assert shown.parent == renders / "render" and shown.name in ("frame_0001.png", "frame_0002.png")
    n = int(shown.stem.split("_")[1])
    expected = {**build_demo.DEMO_COLOURS, "flame": build_demo.sequence_colour(n)}
    for card, rgb in image["cards"].items():
        assert close(rgb, expected[card]), (card, rgb, expected[card])
    assert f"label:Last frame: {shown.name}" in seen["panel"] and "icon" in seen["panel"], str(seen["panel"])


def test_a_host_looking_at_a_job_whose_agent_died_starts_a_new_one(demo, tmp_path, monkeypatch):  # noqa: F811
    """Handed over while no agent could run (killed, machine restarted): the host panel's next look
    at its job list starts one, which submits the job and brings its frame home."""
    import shutil

    from azrender.agent import hand_over
    from azrender.hosts.jobs import agent_line
    from azrender.pipeline import SubmitRequest
    from azrender.watch.agentproc import running

    for name in ("STATE", "CONFIG", "CACHE"):
        monkeypatch.setenv(f"AZRENDER_{name}_DIR", str(tmp_path / name.lower()))
    shot = tmp_path / "artist" / "demo.blend"
    shutil.copytree(demo.parent, shot.parent)
    handed = hand_over(SubmitRequest(scene=shot, frames="1", backend="local"), start=False)
    assert not running()
    assert agent_line(handed.job_id) == "uploading: waiting for the agent"  # and the look starts an agent
    deadline = time.time() + 300
    while not (handed.download_dir / "render" / "frame_0001.png").exists() and time.time() < deadline:
        time.sleep(0.5)
    assert (handed.download_dir / "render" / "frame_0001.png").exists()  # where the demo scene says
    assert agent_line(handed.job_id) is None  # submitted: the backend answers for it now
    while running() and time.time() < deadline:  # it leaves once nothing is left to do
        time.sleep(0.5)
    assert not running()
