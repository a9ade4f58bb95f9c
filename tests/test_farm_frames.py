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
from test_jobs_batch import client, recorder  # noqa: F401  (fixtures: the SDK client against a recording endpoint)
from test_main_job import demo  # noqa: F401  (a fixture)

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
time.sleep(float(os.environ.get("LOAD_SECONDS", "0")))  # loading the scene
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
    doc = {"version": 1, "tasks": {TASK: {"set": "", "frames": {str(n): [f"render/shot_{n:04d}.exr"] for n in frames}}}}
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
    # What the store lists: a file being written has a partial name until it is whole.
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".azrender-partial-")} if folder.is_dir() else {}


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

    proc = start(tmp_path / "task", store.as_uri(), env={"LOAD_SECONDS": "1.5"})  # Batch retries it on this node
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert (tmp_path / "task" / "asked.txt").read_text().splitlines() == ["1-6", "3-6"]
    assert stored(store) == {f"render/shot_{n:04d}.exr": frame(n) for n in range(1, 7)}, \
        "the half-written frame the crash left on the node was rendered again, not uploaded"


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


# ---- real Blender through the local backend ------------------------------------------------------


def slow_blender(folder: Path, blender: str, calls: Path) -> Path:
    """Blender that logs each render's arguments and rests after writing each frame (time for the
    test to preempt the node between two frames)."""
    wrapper = folder / "blender-slow"
    wrapper.write_text(f"""#!/bin/sh
[ "$1" = "-b" ] || exec '{blender}' "$@"
echo "$@" >> '{calls}'
a="$1"; b="$2"; shift 2
exec '{blender}' "$a" "$b" --python-expr "import bpy, time; bpy.app.handlers.render_write.append(lambda *a: time.sleep(3))" "$@"
""")
    wrapper.chmod(0o755)
    return wrapper


def _frames_asked(line: str) -> tuple[int, int]:
    words = line.split()
    return int(words[len(words) - 1 - words[::-1].index("-s") + 1]), int(words[len(words) - 1 - words[::-1].index("-e") + 1])


@pytest.mark.blender
@pytest.mark.slow
def test_a_preempted_blender_chunk_renders_only_its_missing_frames_without_using_a_try(run_cli, demo, blender, tmp_path):  # noqa: F811
    from azrender.backends.local import LocalBatchClient
    from test_main_job import assert_frame_shows_textures

    client = LocalBatchClient(tmp_path / "state" / "local-batch", node_count=1)
    client.get_pool("local")
    calls = tmp_path / "blender-calls"
    env = {"AZRENDER_BLENDER": str(slow_blender(tmp_path, blender, calls))}
    proc = run_cli("submit", demo / "demo.blend", "--frames", "1-6", "--chunk", "6", "--json", env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    job_id = json.loads(proc.stdout)["job_id"]
    outputs = tmp_path / "state" / "store" / "jobs" / job_id / "outputs" / "render"
    deadline = time.monotonic() + 600
    while len(list(outputs.glob("frame_*.png"))) < 3:
        assert time.monotonic() < deadline, "three frames never reached the store"
        time.sleep(0.1)
    client.preempt_node("local", "node-0")  # the Spot VM goes away while frame 4 renders
    kept = {p.name: p.stat().st_mtime_ns for p in outputs.glob("frame_*.png")}
    assert sorted(kept) == [f"frame_{n:04d}.png" for n in (1, 2, 3)], "each frame reached the store as it was done"

    done = run_cli("wait", job_id, "--json", env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    status = json.loads(run_cli("status", job_id, "--json").stdout)
    assert status["failed"] == [] and status["done"]
    task = client.get_task(job_id, "frames-0001-0006")
    assert (task.execution_info.retry_count, task.execution_info.requeue_count) == (0, 1), \
        "the preemption requeued the task without using one of its tries"
    asked = [_frames_asked(line) for line in calls.read_text().splitlines()]
    assert asked == [(1, 6), (4, 6)], "the second run rendered only the frames the store did not hold"
    log = (tmp_path / "state" / "store" / "jobs" / job_id / "logs" / "frames-0001-0006" / "stderr.txt").read_text()
    assert "frame(s) 1-3 already in the outputs store (verified): rendering 4-6" in log
    assert {p.name: p.stat().st_mtime_ns for p in outputs.glob("frame_000[123].png")} == kept, "kept frames untouched"
    dest = tmp_path / "frames"
    assert run_cli("download", job_id, "--dest", dest).returncode == 0
    for n in range(1, 7):
        assert_frame_shows_textures(dest / "render" / f"frame_{n:04d}.png", n)


# ---- the Batch task spec -------------------------------------------------------------------------


def test_batch_tasks_upload_frames_with_the_outputs_sas_only_in_their_environment(client, recorder):  # noqa: F811
    import batchspec
    from test_jobs_batch import IDENTITY, SIG, WSIG, job, secret_leaks

    from azrender.backends import batch
    from azrender.jobs.batch_models import to_batch_models
    from azrender.jobs.model import NodeAccess, WatchSpec

    spec = job("1-6", chunk=3, watch=WatchSpec(), verify_outputs="$AZ_BATCH_JOB_PREP_WORKING_DIR/view/outputs.json")
    batch.submit_batch(client, to_batch_models(spec))
    tasks = [t for r in recorder.requests if r.path.endswith("/addtaskcollection") for t in r.json["value"]]
    assert [t["id"] for t in tasks] == ["frames-0001-0003", "frames-0004-0006"]
    for task in tasks:
        assert not batchspec.errors(task, batchspec.BODIES["task"])
        line = task["commandLine"]
        assert (f"--upload-to https://acct.blob.core.windows.net/renders --upload-prefix jobs/job1/outputs "
                f'--expected "${{AZ_BATCH_JOB_PREP_WORKING_DIR}}/view/outputs.json" --task {task["id"]} --') in line
        assert task["environmentSettings"] == [{"name": "AZRENDER_OUTPUTS_SAS", "value": f"sv=2025-01-05&sp=cw&sig={WSIG}"}]
    leaks = secret_leaks([r.json for r in recorder.requests if r.body], [SIG, WSIG])
    assert leaks == ["value/environmentSettings/value"] * 2, "the write SAS: output file URLs and this setting only"
    assert SIG not in json.dumps(tasks), "never the read SAS"

    retry = job("4-5", job_id="job1-r1", watch=WatchSpec(), outputs_of="job1", verify_outputs="o.json",
                access=NodeAccess("https://acct.blob.core.windows.net/assets", "https://acct.blob.core.windows.net/renders",
                                  identity_resource_id=IDENTITY))
    line = retry.tasks[0].command_line
    assert f"--upload-prefix jobs/job1/outputs --identity {IDENTITY} --expected" in line and not retry.tasks[0].environment
    plain = job("1-2", watch=WatchSpec())  # the plan knows no file names: frames go up with the task
    assert "--upload-to" not in plain.tasks[0].command_line and not plain.tasks[0].environment


def test_a_retry_task_the_plan_does_not_name_gets_its_frames_files_from_the_plan(tmp_path):
    from azrender.node.frames import task_frames

    outputs_json(tmp_path)
    assert task_frames(str(tmp_path / "outputs.json"), "frames-0004-0005") == {
        4: ["render/shot_0004.exr"], 5: ["render/shot_0005.exr"]}
    assert task_frames(str(tmp_path / "outputs.json"), "chars-cam-frames-0004") == {}, "another layer and camera set"
    (tmp_path / "out" / "render").mkdir(parents=True)
    (tmp_path / "out" / "render" / "shot_0004.exr").write_bytes(frame(4))
    verify = subprocess.run([sys.executable, "-m", "azrender.node", "verify", "outputs.json", "frames-0004-0005"],
                            cwd=tmp_path, capture_output=True, text=True, env=cli_env())
    assert verify.returncode == 5
    assert "task frames-0004-0005 did not write 1 of its 2 expected file(s): render/shot_0005.exr" in verify.stderr
