"""``azrender retry`` end to end: real Blender through the local backend renders a job in which two
frames crash; ``retry --failed`` renders only those two, their files land beside the others, and
``status`` then reports the job as whole."""

from __future__ import annotations

import json
import stat

import pytest

from test_hosts_blender import addon_blender, results, wait_done  # noqa: F401  (addon_blender is a fixture)
from test_main_job import assert_frame_shows_textures, demo  # noqa: F401  (demo is a fixture)

pytestmark = [pytest.mark.blender, pytest.mark.slow]


def crashing_blender(folder, blender, crash_list):
    """A Blender that dies of SIGSEGV on the frames listed in ``crash_list`` (while it exists)."""
    wrapper = folder / "blender-crashing"
    wrapper.write_text(f"""#!/bin/sh
prev=""; start=""
for a in "$@"; do [ "$prev" = "-s" ] && start="$a"; prev="$a"; done
if [ -f '{crash_list}' ] && grep -qx "$start" '{crash_list}'; then
  echo "injected crash on frame $start" >&2; kill -SEGV $$
fi
exec '{blender}' "$@"
""")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper


# A studio's plugin (the kind a TD installs): wraps every render task's command line, and sets
# an environment variable on every job; the wrapper says so on the task's stderr.
TD_PLUGIN = """
import shlex
from azrender import hookimpl

@hookimpl
def azrender_task_command_line(submission, task, command_line):
    line = f"studio wrapper: job {submission.job_id} retry of {submission.retry_of or '-'} frames {task.first}-{task.last} show $STUDIO_SHOW"
    return "/bin/bash -c " + shlex.quote(f"echo {line} >&2; exec {command_line}")

@hookimpl
def azrender_adjust_job(submission, job):
    job.environment = (*job.environment, ("STUDIO_SHOW", "tst"))
"""


def test_retry_failed_renders_only_the_crashed_frames_beside_the_others(run_cli, demo, blender, tmp_path):  # noqa: F811
    crash_list = tmp_path / "crash-frames"
    crash_list.write_text("3\n4\n")
    (tmp_path / "td").mkdir()
    (tmp_path / "td" / "studio_td.py").write_text(TD_PLUGIN)
    env = {"AZRENDER_BLENDER": str(crashing_blender(tmp_path, blender, crash_list)),
           "AZRENDER_PLUGINS": "studio_td", "PYTHONPATH": str(tmp_path / "td")}
    proc = run_cli("submit", demo / "demo.blend", "--frames", "1-6", "--wait", "--download", tmp_path / "first",
                   "--json", env=env, timeout=900)
    assert proc.returncode == 1, proc.stderr
    job_id = json.loads(proc.stdout)["job_id"]
    status = json.loads(run_cli("status", job_id, "--json").stdout)
    assert sorted(t["id"] for t in status["failed"]) == ["frames-0003", "frames-0004"]
    assert all("injected crash" in t["stderr_tail"] for t in status["failed"])

    store_outputs = tmp_path / "state" / "store" / "jobs" / job_id / "outputs"
    def stored():  # the demo scene names its frames //render/frame_####
        return {p.relative_to(store_outputs).as_posix(): p.stat().st_mtime_ns for p in store_outputs.rglob("*.png")}

    before = stored()
    assert sorted(before) == [f"render/frame_{n:04d}.png" for n in (1, 2, 5, 6)]

    dry = run_cli("retry", job_id, "--failed", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"{job_id}: retrying frame(s) 3-4 as job {job_id}-r1 (2 failed) (dry run: nothing sent)" in dry.stdout

    crash_list.unlink()  # the crash is fixed
    proc = run_cli("retry", job_id, "--failed", "--wait", "--json", env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["frames"] == [3, 4] and result["retry_job_id"] == f"{job_id}-r1"
    assert result["status"]["failed"] == [] and result["status"]["done"]
    assert sorted(t["id"] for t in result["status"]["retried"]) == ["frames-0003", "frames-0004"]

    after = stored()
    assert sorted(after) == [f"render/frame_{n:04d}.png" for n in range(1, 7)]
    assert all(after[name] == mtime for name, mtime in before.items()), "frames that rendered were left alone"
    retry_tasks = list((tmp_path / "state" / "local-batch" / "jobs" / f"{job_id}-r1".lower() / "tasks").glob("*.json"))
    assert sorted(p.stem for p in retry_tasks) == ["frames-0003", "frames-0004"], "only the 2 crashed frames ran"
    logs = tmp_path / "state" / "store" / "jobs" / f"{job_id}-r1" / "logs"
    for n in (3, 4):  # the studio's hooks ran for the retry as for the submission
        assert (f"studio wrapper: job {job_id}-r1 retry of {job_id} frames {n}-{n} show tst"
                in (logs / f"frames-{n:04d}" / "stderr.txt").read_text())
    first_logs = tmp_path / "state" / "store" / "jobs" / job_id / "logs"
    assert f"studio wrapper: job {job_id} retry of - frames 1-1 show tst" in (first_logs / "frames-0001" / "stderr.txt").read_text()

    text = run_cli("status", job_id)
    assert text.returncode == 0, text.stdout + text.stderr
    assert "0 failed (2 more failed, then retried)" in text.stdout
    dest = tmp_path / "all"
    assert run_cli("download", job_id, "--dest", dest).returncode == 0
    for n in range(1, 7):
        assert_frame_shows_textures(dest / "render" / f"frame_{n:04d}.png", n)
    assert run_cli("retry", job_id).stdout.strip() == f"{job_id}: nothing to retry (no failed or missing frames)"


def test_retry_failed_frames_from_the_blender_panel(addon_blender, run_cli, demo, blender, tmp_path):  # noqa: F811
    crash_list = tmp_path / "crash-frames"
    crash_list.write_text("2\n")
    env = {"AZRENDER_BLENDER": str(crashing_blender(tmp_path, blender, crash_list))}
    (tmp_path / "config").mkdir()  # inside Blender the submitting Blender renders, unless the profile names one
    (tmp_path / "config" / "config.toml").write_text(f"[profiles.farm]\nblender = '{env['AZRENDER_BLENDER']}'\n")
    shot = tmp_path / "artist.blend"
    shot.write_bytes((demo / "demo.blend").read_bytes())
    for folder in (p for p in demo.iterdir() if p.is_dir()):
        (tmp_path / folder.name).symlink_to(folder)
    submitted = results(addon_blender(str(shot), env=env, script="""
        import json, bpy
        s = bpy.context.scene.azrender
        s.backend, s.use_scene_frames, s.frames, s.chunk = "LOCAL", False, "1-3", 1
        outcome = sorted(bpy.ops.azrender.submit())
        bpy.ops.wm.save_mainfile()
        print("RESULT " + json.dumps({"outcome": outcome, "job": s.jobs[0].job_id}))
    """))
    job_id = submitted["job"]
    assert [t["id"] for t in wait_done(run_cli, job_id, {})["failed"]] == ["frames-0002"]

    crash_list.unlink()
    proc = addon_blender(str(shot), env=env, script="""
        import json, bpy
        s = bpy.context.scene.azrender
        s.job_index = 0
        print("RESULT " + json.dumps({"outcome": sorted(bpy.ops.azrender.retry())}))
    """)
    assert results(proc)["outcome"] == ["FINISHED"]
    assert f"azrender: {job_id}: retrying frame(s) 2 as job {job_id}-r1 (1 failed)" in proc.stdout
    status = wait_done(run_cli, job_id, {})
    assert status["failed"] == [] and [t["id"] for t in status["retried"]] == ["frames-0002"]
    outputs = tmp_path / "state" / "store" / "jobs" / job_id / "outputs"
    assert_frame_shows_textures(outputs / "render" / "frame_0002.png", 2)


# ---- the plan, without I/O -----------------------------------------------------------------------

from azrender.backends import JobStatus, TaskState, with_retries  # noqa: E402
from azrender.errors import UsageError  # noqa: E402
from azrender.jobrecord import JobRecord  # noqa: E402
from azrender.backends.retry import plan_retry  # noqa: E402

RECORD = JobRecord("shot", "local", "shot.blend", "file:///store", recipe={"frames": "1-8"})


def _status(*tasks, job="shot", state="completed"):
    return JobStatus(job, "local", state, tuple(TaskState(i, s, exit_code=c) for i, s, c in tasks))


def test_plan_takes_failed_frames_and_frames_a_finished_task_did_not_write():
    status = _status(("frames-0001-0004", "completed", 0), ("frames-0005-0006", "completed", 1),
                     ("frames-0007-0008", "running", None), state="active")
    keys = [f"jobs/shot/outputs/frame_{n:04d}.png" for n in (1, 2, 4)]
    plan = plan_retry(RECORD, status, keys)
    assert (plan.frames, plan.failed, plan.missing, plan.retry_id) == ((3, 5, 6), (5, 6), (3,), "shot-r1")
    assert plan_retry(RECORD, status, keys, failed_only=True).frames == (5, 6)
    assert plan_retry(RECORD, status, keys, frames="1-2").frames == (1, 2)


def test_plan_refuses_frames_outside_the_job_or_still_rendering():
    status = _status(("frames-0001-0008", "running", None), state="active")
    with pytest.raises(UsageError, match=r"frame\(s\) 9-10 are not part of job shot \(frames 1-8\)"):
        plan_retry(RECORD, status, [], frames="9-10")
    with pytest.raises(UsageError, match=r"frame\(s\) 2 of job shot are still waiting or rendering"):
        plan_retry(RECORD, status, [], frames="2")


def test_a_second_retry_counts_what_the_first_rendered():
    first = _status(("frames-0001", "completed", 0), ("frames-0002", "completed", 1), ("frames-0003", "completed", 1))
    retry = _status(("frames-0002", "completed", 0), ("frames-0003", "completed", 139), job="shot-r1")
    merged = with_retries(first, [retry])
    assert [(t.id, t.job) for t in merged.failed] == [("frames-0003", "shot-r1")]
    assert [t.id for t in merged.tasks if t.retried] == ["frames-0002", "frames-0003"]
    record = JobRecord("shot", "local", "shot.blend", "file:///store", recipe={"frames": "1-3"}, retries=("shot-r1",))
    keys = ["jobs/shot/outputs/frame_0001.png", "jobs/shot/outputs/frame_0002.png"]
    assert plan_retry(record, merged, keys).frames == (3,) and plan_retry(record, merged, keys).retry_id == "shot-r2"


def test_a_job_without_a_recipe_says_to_submit_again():
    with pytest.raises(UsageError, match="older azrender"):
        plan_retry(JobRecord("old", "local", "s.blend", "file:///s"), _status(), [])


# ---- a layered Maya job: the retry re-creates its layer x camera task sets ------------------------


def layered_maya_render(folder, crash_list):
    """Maya's ``Render`` for test_render_settings.LAYERED_MA (EXR, padding 4), written by hand: the
    ``-im`` name (its ``<RenderLayer>`` and ``<Camera>`` those of ``-rl`` and ``-cam``) for each
    frame; it dies on chunks that start at a frame listed in ``crash_list`` (while it exists)."""
    script = folder / "maya-render"
    script.write_text(f"""#!/usr/bin/env python3
import os, sys
args = sys.argv[1:]
flag = {{args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("-")}}
start, end = int(flag["-s"]), int(flag["-e"])
if os.path.exists({str(crash_list)!r}) and str(start) in open({str(crash_list)!r}).read().split():
    sys.exit("injected crash on frame %d" % start)
name = flag["-im"].replace("<RenderLayer>", flag["-rl"][len("rs_"):]).replace("<Camera>", flag["-cam"])  # rs_chars: chars
os.makedirs(os.path.join(flag["-rd"], os.path.dirname(name)), exist_ok=True)
for frame in range(start, end + 1):
    open(os.path.join(flag["-rd"], "%s.%04d.exr" % (name, frame)), "wb").write(b"fake exr")
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_retry_of_a_layered_maya_job_renders_each_layer_and_camera_of_the_frames_asked(run_cli, tmp_path):
    from test_render_settings import LAYERED_MA

    scene = tmp_path / "sh020.ma"
    scene.write_text(LAYERED_MA)
    crash_list = tmp_path / "crash-frames"
    crash_list.write_text("103\n")
    env = {"AZRENDER_MAYA_RENDER": str(layered_maya_render(tmp_path, crash_list))}
    proc = run_cli("submit", scene, "--chunk", "2", "--wait", "--json", env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr
    job_id = json.loads(proc.stdout)["job_id"]
    failed = sorted(t["id"] for t in json.loads(proc.stdout)["status"]["failed"])
    assert failed == [f"{s}-frames-0103-0104" for s in ("rs_chars-shotCam", "rs_chars-witness", "rs_env-shotCam", "rs_env-witness")]

    crash_list.unlink()
    proc = run_cli("retry", job_id, "--frames", "104", "--wait", "--json", env=env, timeout=300)
    assert proc.returncode == 1 and json.loads(proc.stdout)["frames"] == [104], proc.stderr  # frame 103 still failed
    retried = sorted(p.stem for p in (tmp_path / "state" / "local-batch" / "jobs" / f"{job_id}-r1".lower() / "tasks").glob("*.json"))
    assert retried == [f"{s}-frames-0104".lower() for s in ("rs_chars-shotCam", "rs_chars-witness", "rs_env-shotCam",
                                                             "rs_env-witness")]  # (Batch ids ignore case)
    command = json.loads((tmp_path / "state" / "local-batch" / "jobs" / f"{job_id}-r1".lower() / "tasks"
                          / "rs_env-witness-frames-0104.json").read_text())["spec"]["commandLine"]
    assert "-r vray -s 104 -e 104" in command and "-rl rs_env -cam witness" in command

    proc = run_cli("retry", job_id, "--json", "--wait", env=env, timeout=300)  # what is left: frame 103
    assert proc.returncode == 0 and json.loads(proc.stdout)["frames"] == [103], proc.stdout + proc.stderr
    stored = tmp_path / "state" / "store" / "jobs" / job_id / "outputs"
    assert sorted(p.relative_to(stored).as_posix() for p in stored.rglob("*.exr")) == sorted(
        f"{layer}/sh020_{cam}.{n:04d}.exr" for layer in ("chars", "env") for cam in ("shotCam", "witness")
        for n in range(101, 105))
    status = run_cli("status", job_id)
    assert status.returncode == 0 and "0 failed (4 more failed, then retried)" in status.stdout, status.stdout
    assert "frame 104 rs_env-witness: verified (env/sh020_witness.0104.exr)" in status.stdout, status.stdout
