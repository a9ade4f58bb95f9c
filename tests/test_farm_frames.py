"""Per-frame upload: the node tool uploads each frame as soon as the renderer has finished it
(never a half-written file), so a task cut short keeps its frames and its next run renders only
the missing ones. First the node tool on a renderer that writes slowly, against a folder store and
Azurite; then real Blender through the local backend with a preempted node."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cli_env

from azrender.node.frames import narrow, runs

TASK = "frames-0001-0006"
FRAME_BYTES = 200_000
# Writes each frame in two halves with the file open (and unchanged) in between, longer than the
# tool's poll: a frame is whole only once the renderer closed it.
RENDERER = r"""
import os, sys, time
args = sys.argv[1:]
first, last = int(args[args.index("-s") + 1]), int(args[args.index("-e") + 1])
with open("asked.txt", "a") as f:
    f.write(f"{first}-{last}\n")
if "AZRENDER_OUTPUTS_SAS" in os.environ:
    open("sas-seen-by-renderer", "w").close()
os.makedirs("out/render", exist_ok=True)
crash = int(os.environ.get("CRASH_ON", "0"))
for n in range(first, last + 1):
    print(f"Fra:{n}", flush=True)
    with open(f"out/render/shot_{n:04d}.exr", "wb") as f:
        f.write(bytes([n]) * (FRAME_BYTES // 2))
        f.flush()
        if n == crash:
            os._exit(139)
        time.sleep(0.8)
        f.write(bytes([n]) * (FRAME_BYTES // 2))
""".replace("FRAME_BYTES", str(FRAME_BYTES))


def outputs_json(folder: Path, frames=range(1, 7)) -> Path:
    paths = {str(n): [f"render/shot_{n:04d}.exr"] for n in frames}
    doc = {"version": 1, "tasks": {TASK: [p for ps in paths.values() for p in ps]}, "frames": {TASK: paths},
           "sets": {TASK: ""}}
    path = folder / "outputs.json"
    path.write_text(json.dumps(doc))
    return path


def start(task_dir: Path, store_url: str, *, env: dict | None = None) -> subprocess.Popen:
    (task_dir / "out").mkdir(parents=True, exist_ok=True)
    (task_dir / "renderer.py").write_text(RENDERER)
    argv = [sys.executable, "-m", "azrender.node", "watch", "--outputs", "out", "--hang", "60",
            "--expected", str(outputs_json(task_dir)), "--task", TASK, "--upload-to", store_url,
            "--upload-prefix", "jobs/shot/outputs", "--",
            sys.executable, "renderer.py", "-b", "scene.blend", "-s", "1", "-e", "6", "-a"]
    return subprocess.Popen(argv, cwd=task_dir, env=cli_env(**(env or {})), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def stored(store: Path) -> dict[str, bytes]:
    folder = store / "jobs" / "shot" / "outputs"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()} \
        if folder.is_dir() else {}


def frame(n: int) -> bytes:
    return bytes([n]) * FRAME_BYTES


def test_frame_arguments_are_narrowed_for_each_renderer():
    assert narrow(["blender", "-b", "s.blend", "-s", "1", "-e", "6", "-a"], 4, 6) == \
        ["blender", "-b", "s.blend", "-s", "4", "-e", "6", "-a"]
    assert narrow(["Render", "-r", "arnold", "-s", "1", "-e", "6", "-rd", "out", "s.ma"], 2, 2)[3:7] == ["-s", "2", "-e", "2"]
    assert narrow(["3dsmaxcmdio.exe", "-start:1", "-end:6", "s.max"], 5, 6)[1:3] == ["-start:5", "-end:6"]
    assert narrow(["kick", "-i", "s.ass"], 1, 1) is None
    assert runs([7, 1, 2, 3, 9, 10]) == [(1, 3), (7, 7), (9, 10)]


def test_a_killed_task_keeps_its_finished_frames_and_its_rerun_renders_only_the_rest(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    first = tmp_path / "node-a" / "task"
    first.mkdir(parents=True)
    proc = start(first, store.as_uri())
    seen_partial = []
    deadline = time.monotonic() + 60
    while len(stored(store)) < 3:  # the node dies (preempted) once three frames are in the store
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        seen_partial += [name for name, data in stored(store).items() if data != frame(int(name[-8:-4]))]
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert seen_partial == [], "a frame in the store is always whole"
    kept = stored(store)
    assert sorted(kept) == [f"render/shot_{n:04d}.exr" for n in (1, 2, 3)], "the frame being written stays on the node"
    assert all(data == frame(int(name[-8:-4])) for name, data in kept.items())
    mtimes = {p: p.stat().st_mtime_ns for p in (store / "jobs" / "shot" / "outputs").rglob("*.exr")}

    second = tmp_path / "node-b" / "task"  # the task runs again on a new VM: an empty disk
    second.mkdir(parents=True)
    proc = start(second, store.as_uri())
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert (second / "asked.txt").read_text() == "4-6\n", "the renderer was asked for the missing frames only"
    assert "frame(s) 1-3 already in the outputs store (verified): rendering 4-6" in err
    assert stored(store) == {f"render/shot_{n:04d}.exr": frame(n) for n in range(1, 7)}
    assert all(p.stat().st_mtime_ns == t for p, t in mtimes.items()), "frames already there were left alone"
    verify = subprocess.run([sys.executable, "-m", "azrender.node", "verify", "outputs.json", TASK], cwd=second,
                            capture_output=True, text=True, env=cli_env())
    assert verify.returncode == 0, verify.stderr
    assert not list((second / "out").rglob("*.exr")), "uploaded frames left out/ (Batch's output file uploads the rest)"


def test_a_crash_mid_frame_uploads_the_frames_before_it_and_not_the_half_written_one(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    proc = start(tmp_path / "task", store.as_uri(), env={"CRASH_ON": "3"})
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 139, err
    assert stored(store) == {f"render/shot_{n:04d}.exr": frame(n) for n in (1, 2)}
    assert (tmp_path / "task" / "out" / "render" / "shot_0003.exr").stat().st_size == FRAME_BYTES // 2


def test_the_blob_store_keeps_frames_whole_and_knows_which_it_wrote(azurite, container, tmp_path):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    from azrender.node.store import open_store

    sas = generate_container_sas(azurite.account, container, account_key=azurite.key,
                                 permission=ContainerSasPermissions(read=True, create=True, write=True),
                                 expiry=time.time() + 3600)
    url = azurite.container_url(container, "show")
    client = azurite.blob_service().get_container_client(container)
    client.upload_blob("show/jobs/shot/outputs/render/shot_0002.exr", frame(2))  # not written by the node tool
    store = open_store(url, sas=sas)
    (tmp_path / "f1.exr").write_bytes(frame(1))
    store.write_file("jobs/shot/outputs/render/shot_0001.exr", str(tmp_path / "f1.exr"))
    assert client.download_blob("show/jobs/shot/outputs/render/shot_0001.exr").readall() == frame(1)
    assert store.verified("jobs/shot/outputs/render/shot_0001.exr")
    assert not store.verified("jobs/shot/outputs/render/shot_0002.exr"), "a blob of unknown origin is rendered again"
    assert not store.verified("jobs/shot/outputs/render/shot_0003.exr")

    task = tmp_path / "task"  # the whole tool against Azurite, the SAS from the task's environment
    proc = start(task, url, env={"AZRENDER_OUTPUTS_SAS": sas})
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert (task / "asked.txt").read_text() == "2-6\n"
    for n in range(1, 7):
        assert client.download_blob(f"show/jobs/shot/outputs/render/shot_{n:04d}.exr").readall() == frame(n)
    assert sas not in err and not (task / "sas-seen-by-renderer").exists(), "the renderer never sees the SAS"
