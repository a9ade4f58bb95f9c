"""The render watchdog: a renderer that hangs (silent, no frame) or runs away (talks, but a frame
never ends) is killed within its limit, with an exit code Batch retries and ``status`` names.
First the node tool itself on real processes, then real Blender through the local backend."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cli_env
from test_main_job import assert_frame_shows_textures, demo  # noqa: F401  (demo is a fixture)

from azrender.node.watch import HUNG_EXIT_CODE, RUNAWAY_EXIT_CODE


def watch(tmp_path, renderer: str, *options: str, timeout: float = 60):
    script = tmp_path / "renderer.py"
    script.write_text(renderer)
    (tmp_path / "out").mkdir(exist_ok=True)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "azrender.node", "watch", "--outputs", "out", *options, "--",
                           sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          env=cli_env(), timeout=timeout)
    return proc, time.monotonic() - started


def test_a_silent_renderer_is_killed_as_hung_with_everything_it_started(tmp_path):
    proc, took = watch(tmp_path, f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
open({str(tmp_path / 'child.pid')!r}, "w").write(str(child.pid))
print("loading scene", flush=True)
time.sleep(300)
""", "--hang", "2")
    assert proc.returncode == HUNG_EXIT_CODE
    assert took < 10, "killed within the limit, not when the renderer would have ended"
    assert "loading scene" in proc.stdout  # its output passed through
    assert "no output file and no log line for 2 s (limit 2 s): killed as hung" in proc.stderr
    child = int((tmp_path / "child.pid").read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]


def test_a_talking_renderer_whose_frame_never_ends_is_killed_as_runaway(tmp_path):
    proc, took = watch(tmp_path, """
import time
while True:
    print("Fra:1 Sample 1/1000000", flush=True)
    time.sleep(0.2)
""", "--hang", "30", "--max-frame", "2")
    assert proc.returncode == RUNAWAY_EXIT_CODE and took < 10
    assert "(limit 2 s per frame): killed as runaway" in proc.stderr


def test_frames_keep_the_renderer_alive_and_its_exit_code_is_kept(tmp_path):
    proc, _ = watch(tmp_path, """
import sys, time
for n in range(1, 5):
    time.sleep(0.6)
    open(f"out/frame_{n:04d}.png", "wb").write(b"x")
sys.exit(7)
""", "--hang", "1.5", "--max-frame", "1.5")
    assert proc.returncode == 7, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"frame_{n:04d}.png" for n in range(1, 5)]


def test_the_automatic_limit_follows_the_jobs_measured_frame_times_above_a_floor(tmp_path):
    times = tmp_path / "times.txt"
    times.write_text("1.0\n")  # this job's longest frame on this node so far: 1 s -> limit 3 s
    proc, took = watch(tmp_path, "import time; time.sleep(300)", "--hang-floor", "0.5", "--times", str(times))
    assert proc.returncode == HUNG_EXIT_CODE and "(limit 3 s)" in proc.stderr and took < 10
    times.write_text("0.1\n")  # 3 x 0.1 s is below the floor: the floor wins
    proc, _ = watch(tmp_path, "import time; time.sleep(300)", "--hang-floor", "2", "--times", str(times))
    assert "(limit 2 s)" in proc.stderr
    proc, _ = watch(tmp_path, "import time; open('out/f_0001.png', 'w').write('x'); time.sleep(1)",
                    "--hang", "30", "--times", str(times))
    assert proc.returncode == 0 and len(times.read_text().split()) == 2, "the frame's time was recorded"


# ---- real Blender, local backend -----------------------------------------------------------------


def hanging_blender(folder: Path, blender: str) -> Path:
    """Blender that hangs silently on frame 2's first attempt and on every attempt of frame 3."""
    wrapper = folder / "blender-hanging"
    wrapper.write_text(f"""#!/bin/sh
prev=""; start=""
for a in "$@"; do [ "$prev" = "-s" ] && start="$a"; prev="$a"; done
if [ "$start" = 3 ] || {{ [ "$start" = 2 ] && [ ! -f '{folder}/hung-once' ]; }}; then
  touch '{folder}/hung-once'; exec sleep 600
fi
exec '{blender}' "$@"
""")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper


@pytest.mark.blender
@pytest.mark.slow
def test_a_hanging_blender_is_killed_in_time_retried_and_reported_as_hung(run_cli, demo, blender, tmp_path):  # noqa: F811
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text("[profiles.farm]\nhang_seconds = 8\nretries = 1\n")
    env = {"AZRENDER_BLENDER": str(hanging_blender(tmp_path, blender))}
    started = time.monotonic()
    proc = run_cli("submit", demo / "demo.blend", "--frames", "1-3", "--wait", "--download", tmp_path / "out",
                   "--json", env=env, timeout=900)
    took = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    assert took < 240, f"three 8 s hangs took {took:.0f} s: the 600 s sleeps were not cut short"
    status = json.loads(proc.stdout)["status"]
    [hung] = status["failed"]
    assert hung["id"] == "frames-0003" and hung["exit_code"] == HUNG_EXIT_CODE and hung["retries"] == 1
    assert hung["reason"].startswith("hung:")
    assert "killed as hung" in hung["stderr_tail"]
    job_id = json.loads(proc.stdout)["job_id"]
    task = json.loads((tmp_path / "state" / "local-batch" / "jobs" / job_id.lower() / "tasks" / "frames-0002.json").read_text())
    assert task["retry_count"] == 1 and task["exit_code"] == 0, "frame 2 hung once, was killed and retried"
    for n in (1, 2):
        assert_frame_shows_textures(tmp_path / "out" / "render" / f"frame_{n:04d}.png", n)
    text = run_cli("status", job_id)
    assert f"frames-0003 failed (exit code {HUNG_EXIT_CODE}: hung: the renderer wrote no output file" in text.stdout
