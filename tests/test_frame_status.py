"""``azrender status JOB`` shows the same per-frame rows on a machine that did not submit the job (no
job record: a TD's machine with the same profile, or the artist after the record was cleaned), from
what the backend and the store hold: the job's outputs.json (named by the job's metadata, read with
the profile's storage credential) and the files in its outputs store."""

from __future__ import annotations

import json
import time
import shutil
from pathlib import Path

import pytest

from batch_recorder import BatchRecorder
from test_hosts_blender import addon_blender  # noqa: F401  (a fixture)
from test_main_job import demo  # noqa: F401  (a fixture)

FAKE_MAYA_RENDER = str(Path(__file__).parent / "fake_maya_render")  # writes what Maya would, so tasks verify
BATCH_KEY = "QmF0Y2hLZXlUaGF0TXVzdE5ldmVyTGVhazAxMjM0NTY3ODk="
SHOT_MA = """//Maya ASCII 2024 scene
requires maya "2024";
createNode transform -s -n "persp";
createNode camera -s -n "perspShape" -p "persp";
select -ne :defaultRenderGlobals;
\tsetAttr ".an" yes;
\tsetAttr ".fs" 1;
\tsetAttr ".ef" 3;
"""


def frame_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("  frame ") or "per-frame" in line]


def test_local_job_after_its_record_was_cleaned(run_cli, tmp_path):
    scene = tmp_path / "shot.ma"
    scene.write_text(SHOT_MA)
    env = {"AZRENDER_MAYA_RENDER": FAKE_MAYA_RENDER}
    proc = run_cli("submit", scene, "--wait", "--json", env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    job_id = json.loads(proc.stdout)["job_id"]
    submitted = run_cli("status", job_id, env=env)
    assert frame_lines(submitted.stdout) == [f"  frame {n} defaultRenderLayer-persp: verified (shot.{n}.iff)"
                                             for n in (1, 2, 3)], submitted.stdout
    as_json = json.loads(run_cli("status", job_id, "--json", env=env).stdout)

    (tmp_path / "state" / "jobs" / f"{job_id}.json").unlink()  # the record is gone, the job and store are not
    later = run_cli("status", job_id, env=env)
    assert later.returncode == 0 and frame_lines(later.stdout) == frame_lines(submitted.stdout), later.stdout
    assert json.loads(run_cli("status", job_id, "--json", env=env).stdout)["frames"] == as_json["frames"]

    store = tmp_path / "state" / "store"
    (store / "jobs" / job_id / "outputs" / "shot.2.iff").unlink()  # e.g. removed by hand from the store
    later = run_cli("status", job_id, env=env)
    assert later.returncode == 1, later.stdout
    assert "  frame 2 defaultRenderLayer-persp: missing (shot.2.iff not in the outputs store)" in later.stdout
    doc = json.loads(run_cli("status", job_id, "--json", env=env).stdout)
    assert [(f["frame"], f["state"], f["missing"]) for f in doc["frames"]] == [
        (1, "verified", []), (2, "missing", ["shot.2.iff"]), (3, "verified", [])]

    [key] = [p for p in (store / "content").rglob("*") if p.is_file() and b'"frames"' in p.read_bytes()]
    key.write_bytes(key.read_bytes().replace(b"shot.3", b"shot.9"))  # damaged: it no longer matches its hash
    later = run_cli("status", job_id, env=env)
    [line] = frame_lines(later.stdout)
    assert line.startswith("  per-frame status unknown: the job's outputs.json (content/") and \
        line.endswith("does not match its hash"), later.stdout
    key.unlink()
    doc = json.loads(run_cli("status", job_id, "--json", env=env).stdout)
    assert doc["frames"] == [] and "cannot be read" in doc["frames_error"] and "has no content/" in doc["frames_error"]


@pytest.fixture
def recorder():
    server = BatchRecorder(pools={"render-pool": {"id": "render-pool"}}).start()
    yield server
    server.stop()


@pytest.mark.azurite
def test_batch_job_from_a_machine_that_did_not_submit_it(run_cli, tmp_path, recorder, azurite, container):
    scene = tmp_path / "shot.ma"
    scene.write_text(SHOT_MA)
    url = azurite.container_url(container, "show")
    profile = (f'[profiles.studio]\nbatch_url = "{recorder.url}"\nbatch_auth = "key"\nbatch_account = "acct"\n'
               f'pool_id = "render-pool"\nstorage_url = "{url}"\n')
    for machine in ("artist", "td"):
        (tmp_path / machine / "config").mkdir(parents=True)
        (tmp_path / machine / "config" / "config.toml").write_text(profile)

    def on(machine: str, *args):
        return run_cli(*args, env={"AZRENDER_BATCH_KEY": BATCH_KEY, "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
                                   **{f"AZRENDER_{d.upper()}_DIR": str(tmp_path / machine / d) for d in ("config", "state", "cache")}},
                       timeout=120)

    proc = on("artist", "submit", scene, "--backend", "batch", "--json")
    assert proc.returncode == 0, proc.stderr
    job_id = json.loads(proc.stdout)["job_id"]
    [job] = [r.json for r in recorder.requests if (r.method, r.path) == ("POST", "/jobs")]
    [key] = [item["value"] for item in job["metadata"] if item["name"] == "azrender_outputs"]
    assert key.startswith("content/") and "sig=" not in json.dumps(job["metadata"])  # a key, never a SAS
    assert not (tmp_path / "td" / "state" / "jobs").exists() or not list((tmp_path / "td" / "state" / "jobs").iterdir())

    tasks = recorder.tasks[job_id]
    waiting = on("td", "status", job_id)
    assert frame_lines(waiting.stdout) == [f"  frame {n} defaultRenderLayer-persp: waiting" for n in (1, 2, 3)], waiting.stdout
    done = {"exitCode": 0, "retryCount": 0, "requeueCount": 0}
    for n in (1, 2):
        tasks[f"defaultRenderLayer-persp-frames-000{n}"].update(state="completed", executionInfo=done)
    tasks["defaultRenderLayer-persp-frames-0003"].update(state="running", executionInfo={"retryCount": 0, "requeueCount": 0})
    blobs = azurite.blob_service().get_container_client(container)
    blobs.upload_blob(f"show/jobs/{job_id}/outputs/shot.1.iff", b"FOR4 fake maya image")  # frame 2's never arrived

    artist, td = on("artist", "status", job_id), on("td", "status", job_id)
    assert frame_lines(td.stdout) == frame_lines(artist.stdout) == [
        "  frame 1 defaultRenderLayer-persp: verified (shot.1.iff)",
        "  frame 2 defaultRenderLayer-persp: missing (shot.2.iff not in the outputs store)",
        "  frame 3 defaultRenderLayer-persp: rendering"], td.stdout + td.stderr
    assert td.returncode == artist.returncode == 1
    assert json.loads(on("td", "status", job_id, "--json").stdout)["frames"] == \
        json.loads(on("artist", "status", job_id, "--json").stdout)["frames"]

    tasks["defaultRenderLayer-persp-frames-0003"].update(state="completed", executionInfo=done)
    blobs.upload_blob(f"show/jobs/{job_id}/outputs/shot.2.iff", b"FOR4 fake maya image")
    blobs.upload_blob(f"show/jobs/{job_id}/outputs/shot.3.iff", b"FOR4 fake maya image")
    waited = on("td", "wait", job_id)
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert frame_lines(waited.stdout) == [f"  frame {n} defaultRenderLayer-persp: verified (shot.{n}.iff)"
                                          for n in (1, 2, 3)], waited.stdout

    blobs.delete_blob(f"show/{key}")  # e.g. collected by `azrender gc`
    gone = on("td", "status", job_id)
    [line] = frame_lines(gone.stdout)
    assert line.startswith("  per-frame status unknown: the job's outputs.json") and "has no content/" in line, gone.stdout
    for proc in (artist, td, waited, gone):
        assert azurite.key not in proc.stdout + proc.stderr and BATCH_KEY not in proc.stdout + proc.stderr
    for machine in ("artist", "td"):  # the store's credential was used, never kept
        for path in (tmp_path / machine).rglob("*"):
            assert not path.is_file() or azurite.key.encode() not in path.read_bytes(), path


def test_frames_a_retry_rendered_again_show_as_verified_without_the_record(run_cli, tmp_path):
    crash = tmp_path / "crash"
    crash.write_text("2\n")
    render = tmp_path / "maya-render"  # the fake Render, dying on frame 2 while the crash file lists it
    render.write_text(f"#!/bin/sh\ncase \" $* \" in *' -s 2 '*) grep -qx 2 {crash} 2>/dev/null && exit 1;; esac\n"
                      f"exec {FAKE_MAYA_RENDER} \"$@\"\n")
    render.chmod(0o755)
    env = {"AZRENDER_MAYA_RENDER": str(render)}
    scene = tmp_path / "shot.ma"
    scene.write_text(SHOT_MA)
    proc = run_cli("submit", scene, "--wait", "--json", env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr
    job_id = json.loads(proc.stdout)["job_id"]
    crash.unlink()
    proc = run_cli("retry", job_id, "--wait", "--json", env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    submitted = run_cli("status", job_id, env=env)
    assert submitted.returncode == 0 and "  frame 2 defaultRenderLayer-persp: verified (shot.2.iff)" in submitted.stdout
    (tmp_path / "state" / "jobs" / f"{job_id}.json").unlink()
    later = run_cli("status", job_id, env=env)
    assert later.returncode == 0 and frame_lines(later.stdout) == frame_lines(submitted.stdout), later.stdout
    assert "(1 more failed, then retried)" in later.stdout.splitlines()[0]
    assert json.loads(run_cli("status", job_id, "--json", env=env).stdout)["frames"][1]["job"] == f"{job_id}-r1"


@pytest.mark.blender
@pytest.mark.slow
def test_the_blender_panel_shows_the_frames_after_the_record_was_cleaned(addon_blender, demo, run_cli, tmp_path):  # noqa: F811
    from test_hosts_blender import results, wait_done

    shot = tmp_path / "artist" / "demo.blend"
    shutil.copytree(demo, shot.parent)
    submitted = results(addon_blender(str(shot), script="""
        import json, bpy
        s = bpy.context.scene.azrender
        s.backend, s.use_scene_frames, s.frames, s.chunk = "LOCAL", False, "1-2", 1
        outcome = sorted(bpy.ops.azrender.submit())
        bpy.ops.wm.save_mainfile()  # the job list is kept with the scene
        print("RESULT " + json.dumps({"outcome": outcome, "job": s.jobs[0].job_id}))
    """))
    job_id = submitted["job"]
    assert wait_done(run_cli, job_id, {})["failed"] == []
    (tmp_path / "state" / "jobs" / f"{job_id}.json").unlink()
    (tmp_path / "state" / "store" / "jobs" / job_id / "outputs" / "render" / "frame_0002.png").unlink()
    cli = [line.strip() for line in frame_lines(run_cli("status", job_id).stdout)]
    assert cli == ["frame 1: verified (render/frame_0001.png)",
                   "frame 2: missing (render/frame_0002.png not in the outputs store)"], cli
    panel = results(addon_blender(str(shot), script="""
        import json, bpy
        s = bpy.context.scene.azrender
        bpy.ops.azrender.refresh_jobs()
        print("RESULT " + json.dumps({"frames": s.jobs[0].frames.splitlines(), "state": s.jobs[0].state}))
    """))
    assert panel["frames"] == cli, panel


def test_a_frame_of_a_running_task_shows_as_rendered_once_it_is_stored(run_cli, tmp_path):
    go = tmp_path / "go"
    render = tmp_path / "maya-render"  # writes the chunk's first frame, then the rest once `go` exists
    render.write_text(f"""#!/usr/bin/env python3
import os, sys, time
a = sys.argv[1:]
flag = {{a[i]: a[i + 1] for i in range(len(a) - 1) if a[i].startswith("-")}}
os.makedirs(flag["-rd"], exist_ok=True)
for n in range(int(flag["-s"]), int(flag["-e"]) + 1):
    while n > int(flag["-s"]) and not os.path.exists({str(go)!r}):
        time.sleep(0.1)
    with open(os.path.join(flag["-rd"], "shot.%d.iff" % n), "wb") as f:
        f.write(b"FOR4 fake maya image")
""")
    render.chmod(0o755)
    env = {"AZRENDER_MAYA_RENDER": str(render)}
    scene = tmp_path / "shot.ma"
    scene.write_text(SHOT_MA)
    proc = run_cli("submit", scene, "--chunk", "3", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    job_id = json.loads(proc.stdout)["job_id"]
    deadline, lines = time.time() + 120, []
    while time.time() < deadline:
        lines = frame_lines(run_cli("status", job_id, env=env).stdout)
        if lines and lines[0].endswith(": rendered"):
            break
        time.sleep(1)
    assert lines == ["  frame 1 defaultRenderLayer-persp: rendered", "  frame 2 defaultRenderLayer-persp: rendering",
                     "  frame 3 defaultRenderLayer-persp: rendering"], lines
    go.touch()
    done = run_cli("wait", job_id, env=env, timeout=120)
    assert done.returncode == 0 and frame_lines(done.stdout) == [
        f"  frame {n} defaultRenderLayer-persp: verified (shot.{n}.iff)" for n in (1, 2, 3)], done.stdout
