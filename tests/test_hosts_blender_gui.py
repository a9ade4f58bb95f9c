"""The add-on in Blender's real GUI (Debian's Blender 3.4 under Xvfb): a submission of the example
scene never blocks the main thread for more than 100 ms at a time (wall clock, against the same
Blender idle), the dependency list is filled
when the scene opens, the new job is selected and the job list follows it to its end without
anyone pressing Refresh."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig

import pytest

from conftest import REPO, cli_env, require
from test_hosts_blender import ADDON, demo  # noqa: F401  (the example scene fixture)

pytestmark = [pytest.mark.blender, pytest.mark.slow]


def test_submitting_never_blocks_blenders_main_thread_over_100_ms(blender, demo, tmp_path):  # noqa: F811
    require(bool(shutil.which("xvfb-run")), "xvfb-run (apt install xvfb xauth)")
    shot = tmp_path / "artist" / "demo.blend"
    shutil.copytree(demo.parent, shot.parent)
    scripts = tmp_path / "scripts"
    (scripts / "addons").mkdir(parents=True)
    (scripts / "addons" / "azrender_blender").symlink_to(ADDON)
    env = cli_env(BLENDER_USER_SCRIPTS=str(scripts), HOME=str(tmp_path / "home"),
                  PYTHONPATH=os.pathsep.join([str(REPO / "core"), sysconfig.get_paths()["purelib"]]),
                  AZRENDER_STATE_DIR=str(tmp_path / "state"), AZRENDER_CONFIG_DIR=str(tmp_path / "config"),
                  AZRENDER_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 800x600x24", blender, "--factory-startup", "-p", "0", "0", "800", "600",
                           "--addons", "azrender_blender", str(shot), "--python", str(REPO / "tests" / "blender_gui_timing.py")],
                          capture_output=True, text=True, env=env, timeout=900)
    lines = [line[len("RESULT "):] for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[-1])
    assert out["outcome"] == ["RUNNING_MODAL"], out  # submitted in the background, the UI kept running
    [[job_id, state]] = out["jobs"]
    assert state == "completed: 1/1 tasks done", out  # followed live, no Refresh pressed
    assert out["job_index"] == 0  # the new job is selected: Download Outputs takes it
    # wood, 8 flame frames, 2 UDIM tiles, the library and its texture: listed on open
    assert out["deps_on_open"] == 13, out
    phases = out["phases"]
    for name, phase in phases.items():
        print(f"{name:>11}: {phase['ticks']} ticks ({phase['drawing']} drawing), longest gap "
              f"{phase['max_wall'] * 1000:.0f} ms wall ({phase['max_away_drawing'] * 1000:.0f} ms drawing less the machine's "
              f"other processes); not drawing {phase['max_wall_not_drawing'] * 1000:.0f} ms "
              f"({phase['max_away_not_drawing'] * 1000:.0f} ms less the machine's other processes), "
              f"{phase['max_cpu'] * 1000:.0f} ms main-thread CPU, {phase['over_100ms']} over 100 ms; longest "
              f"(wall, main CPU, other threads' CPU, drew, less other processes): {phase['longest']}")  # by the last
    print(f"Blender settled before measuring: {out['settled']}; the Submit button itself: {out['operator']}, "
          f"its parts: {out['parts']}")
    submit, follow = phases["submit"], phases["follow"]
    assert submit["ticks"] > 20 and phases["quiet"]["ticks"] > 20 and phases["redraws"]["drawing"] >= 10, phases
    # Wall clock, as the artist feels it: the main thread is never away over 100 ms while
    # submitting and following the job. Allowances are the machine's own, measured in the same
    # run: the time the kernel kept the main thread (or, while the main thread could not run, the
    # add-on's worker holding the GIL) waiting for a CPU other processes had (this suite, other
    # users); and for a gap in which Blender drew (Xvfb's software OpenGL on shared cores), what
    # such a gap took in the same Blender not submitting (quiet, or showing a report banner, the
    # progress cursor, the status bar and the panel as often as a submission's progress does), with
    # a quarter more for the chance that one of the submission's few redraws is its longest.
    # Asserted for the submission (the Submit button until the job is handed to the agent), less,
    # in a gap in which Blender drew, the time its software rasterizer (llvmpipe) ran. While
    # following, the panel's last-frame preview loads and draws the frame on the main thread: its
    # gaps are printed above, not asserted yet, only its CPU below.
    assert submit["max_away_not_drawing"] <= 0.1, phases
    assert submit["max_away_drawing"] <= 0.1, phases
    # and whatever the load, the main thread's own work between two ticks stays under 100 ms
    assert submit["max_cpu"] < 0.1 and follow["max_cpu"] < 0.1, phases
    assert out["operator"][4] < 0.1, out["operator"]  # the Submit button itself (no drawing inside)
