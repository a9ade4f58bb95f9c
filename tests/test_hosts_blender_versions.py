"""The built add-on zip in the Blender versions artists run: Debian's Blender 3.4 (a legacy add-on)
and the official ``bpy`` wheels 4.2 LTS, 4.5 LTS and 5.0 (extensions), installed by scripts/setup
in ``.venv-bpy/<version>``. In each: install the zip as a user does, enable it, find the menu
entry, draw the panel, save a scene in that version, submit it through the add-on to the local
backend, which renders it with that same Blender, and check the frames' pixels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, cli_env, require
from pngpixels import close, pixel
from test_hosts_blender import wait_done

sys.path.insert(0, str(REPO / "examples"))
import build_demo  # noqa: E402  (colours and pixel positions only)

pytestmark = pytest.mark.blender

VERSIONS = ("3.4", "4.2", "4.5", "5.0")
USER = REPO / "tests" / "blender_addon_user.py"


def bpy_python(version: str) -> Path:
    return REPO / ".venv-bpy" / version / "bin" / "python"


def host_command(version: str, blender: str, script: Path, *args: str) -> list[str]:
    """Run ``script`` in that Blender: the Debian binary, or the bpy wheel's Python."""
    if version == "3.4":
        return [blender, "-b", "--factory-startup", "--python-exit-code", "1", "--python", str(script), "--", *args]
    return [str(bpy_python(version)), str(script), "--", *args]


def host_env(home: Path, **extra) -> dict:
    """A user's environment: a fresh home (Blender's preferences, extensions and add-ons land
    there) and no azrender on PYTHONPATH (the add-on must bring its own)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               BLENDER_USER_CONFIG=str(home / "blender/config"), BLENDER_USER_SCRIPTS=str(home / "blender/scripts"),
               **extra)
    return env


def run_host(version: str, blender: str, script: Path, *args: str, env: dict, timeout: float = 600):
    proc = subprocess.run(host_command(version, blender, script, *args), capture_output=True, text=True,
                          env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def result_of(proc) -> dict:
    lines = [line[len("RESULT "):] for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(lines[-1])


@pytest.fixture(params=VERSIONS)
def version(request, blender) -> str:
    if request.param != "3.4":
        require(bpy_python(request.param).exists(), f"the bpy {request.param} wheel (.venv-bpy/{request.param})")
    return request.param


def submit_from_the_addon(version, blender, addon_zip, tmp_path, *args, scene: Path | None = None) -> tuple[dict, dict, Path]:
    """The example scene (or ``scene``) saved by this Blender (in its own process, as an artist would
    have), then submitted through the installed zip (blender_addon_user.py ``args``); (its RESULT,
    state env, home)."""
    home = tmp_path / "home"
    state = {"AZRENDER_STATE_DIR": str(tmp_path / "state"), "AZRENDER_CONFIG_DIR": str(tmp_path / "config"),
             "AZRENDER_CACHE_DIR": str(tmp_path / "cache")}
    if scene is None:
        run_host(version, blender, REPO / "examples" / "build_demo.py", str(tmp_path / "shot"), env=host_env(home))
        scene = tmp_path / "shot" / "demo.blend"
    return result_of(run_host(version, blender, USER, str(addon_zip), str(scene), *args, env=host_env(home, **state))), state, home


def test_the_zip_installs_and_submits_a_scene_saved_in_this_version(version, blender, addon_zip, tmp_path, run_cli):
    # Render Properties changed in the session and not saved: the add-on reads its settings from bpy
    out, state, home = submit_from_the_addon(version, blender, addon_zip, tmp_path, "1-2", "//inapp/take_##")
    assert ".".join(map(str, out["version"][:2])) == version
    assert out["enabled"] and "azure" in out["name"].lower()  # found by searching "azure"
    assert any(m.endswith("azrender_blender.ui") for m in out["menu"]) and out["operator"] == "Render on Azure…"
    for shown in ("backend", "label:Frames: 1-8", "list:dependencies", "azrender.submit", "list:jobs", "azrender.download"):
        assert shown in out["panel"]
    assert str(home) in out["azrender_from"]  # the core the zip installed, not a developer's checkout
    assert out["submit"] == ["FINISHED"], out
    [[job_id, backend, _]] = out["jobs"]
    assert backend == "local"

    status = wait_done(run_cli, job_id, state)
    assert status["failed"] == [], status
    assert [(f["frame"], f["state"], f["outputs"]) for f in status["frames"]] == [
        (n, "verified", [f"inapp/take_0{n}.png"]) for n in (1, 2)]
    fetched = run_cli("download", job_id, "--dest", tmp_path / "frames", env=state)
    assert fetched.returncode == 0, fetched.stderr
    frames = sorted((tmp_path / "frames").rglob("*.png"))
    assert [f.relative_to(tmp_path / "frames").as_posix() for f in frames] == ["inapp/take_01.png", "inapp/take_02.png"]
    for n, frame_png in enumerate(frames, start=1):
        expected = {**build_demo.DEMO_COLOURS, "flame": build_demo.sequence_colour(n)}
        for card, (x, y) in build_demo.CARD_PIXELS.items():
            assert close(pixel(frame_png, x, y), expected[card]), f"{version} {frame_png.name}: {card}"


def test_a_gpu_the_node_lacks_fails_the_task_with_its_message(version, blender, addon_zip, tmp_path, run_cli):
    out, state, _ = submit_from_the_addon(version, blender, addon_zip, tmp_path, "1", "", "OPTIX")
    assert "device" in out["panel"] and out["submit"] == ["FINISHED"], out
    [[job_id, _, _]] = out["jobs"]
    [failed] = wait_done(run_cli, job_id, state)["failed"]
    assert "asks Cycles to render on OPTIX" in failed["stderr_tail"], failed
    assert "not rendering on the CPU" in failed["stderr_tail"]
    run_cli("download", job_id, "--dest", tmp_path / "frames", env=state)
    assert not list((tmp_path / "frames").rglob("*.png")), "no frame rendered on the CPU instead"


@pytest.fixture(scope="module")
def scene_50(tmp_path_factory) -> Path:
    """A scene saved by Blender 5.0 (zstd-compressed, the 5.0 header)."""
    require(bpy_python("5.0").exists(), "the bpy 5.0 wheel (.venv-bpy/5.0)")
    folder = tmp_path_factory.mktemp("scene50")
    script = folder / "save.py"
    script.write_text("import sys, bpy\nbpy.ops.wm.save_as_mainfile(filepath=sys.argv[-1])\n")
    run_host("5.0", "", script, str(folder / "new.blend"), env=host_env(folder / "home"))
    return folder / "new.blend"


def test_a_scene_newer_than_this_machines_blender_is_refused_in_one_line_before_any_work(blender, scene_50, run_cli, tmp_path):
    proc = run_cli("submit", scene_50, "--backend", "local", "--frames", "1", "--blender", blender)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "new.blend was saved by Blender 5.0" in lines[0] and "is 3.4.1 and cannot open it" in lines[0]
    assert not (tmp_path / "state" / "store").exists() or not any((tmp_path / "state" / "store").rglob("*.blend"))


def test_blender_chooses_the_renderer_and_the_task_checks_its_version_first(scene_50, run_cli, tmp_path):
    venv = REPO / ".venv-bpy" / "5.0"
    proc = run_cli("submit", scene_50, "--backend", "local", "--frames", "1", "--blender", venv, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    [task] = json.loads(proc.stdout)["tasks"]
    line = task["commandLine"]
    launcher = line.split("blender-version ", 1)[1].split(" ", 1)[0]
    assert f"blender-version {launcher} 5.0 new.blend" in line  # before the renderer runs
    assert f"{launcher} -b " in line
    assert subprocess.run([launcher, "--version"], capture_output=True, text=True).stdout.startswith("Blender 5.0.")

    wrong = run_cli("submit", scene_50, "--backend", "local", "--frames", "1", "--blender", "4.2", "--dry-run")
    assert wrong.returncode != 0 and "no Blender 4.2 on this machine" in wrong.stderr


def test_the_node_refuses_a_blender_older_than_the_scene_before_rendering(blender):
    check = [sys.executable, "-m", "azrender.node", "blender-version", blender]
    refused = subprocess.run([*check, "4.5", "shot.blend"], capture_output=True, text=True, env=cli_env(), timeout=120)
    assert refused.returncode == 3
    assert refused.stderr.strip() == ("azrender: shot.blend was saved by Blender 4.5; this node's Blender is 3.4.1 and "
                                      "cannot open it (render it with Blender 4.5 or newer)")
    accepted = subprocess.run([*check, "3.4", "shot.blend"], capture_output=True, text=True, env=cli_env(), timeout=120)
    assert accepted.returncode == 0 and "Blender 3.4.1 renders shot.blend" in accepted.stdout


def test_a_configured_blender_older_than_the_scene_is_refused_naming_both_versions(scene_50, run_cli, tmp_path):
    require(bpy_python("4.2").exists(), "the bpy 4.2 wheel (.venv-bpy/4.2)")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(f'[profiles.default]\nblender = "{REPO / ".venv-bpy" / "4.2"}"\n')
    proc = run_cli("submit", scene_50, "--backend", "local", "--frames", "1")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "azrender submit: error: new.blend was saved by Blender 5.0; the Blender from the profile's blender is 4.2.23 "
        "and cannot open it (render it with Blender 5.0 or newer)"]


def test_a_local_blender_that_changed_after_planning_fails_the_task_with_the_line(scene_50, tmp_path, monkeypatch):
    """The configured Blender is replaced by an older one between planning and rendering: the task
    checks its Blender first and fails with the one line, instead of crashing in Blender."""
    require(bpy_python("4.2").exists(), "the bpy 4.2 wheel (.venv-bpy/4.2)")
    from azrender.backends.local.backend import LocalBackend
    from azrender.pipeline import SubmitRequest, execute, plan_submission
    from azrender.progress import no_progress
    from azrender.settings import Settings

    for name in ("STATE", "CONFIG", "CACHE"):
        monkeypatch.setenv(f"AZRENDER_{name}_DIR", str(tmp_path / name.lower()))
    link = tmp_path / "blender"
    link.symlink_to(REPO / ".venv-bpy" / "5.0")
    settings = Settings(blender=str(link), retries=0)
    backend = LocalBackend(settings)
    plan = plan_submission(SubmitRequest(scene=scene_50, frames="1", backend="local"), backend=backend, settings=settings)
    link.unlink()
    link.symlink_to(REPO / ".venv-bpy" / "4.2")
    result = execute(plan, backend)
    status = backend.wait(result.job_id, no_progress)
    [failed] = status.failed
    assert ("azrender: new.blend was saved by Blender 5.0; this node's Blender is 4.2.23 and cannot open it "
            "(render it with Blender 5.0 or newer)") in failed.stderr_tail
    assert not list((tmp_path / "state").rglob("*.png")), "nothing was rendered"


def test_the_bpy_launcher_for_a_windows_venv_is_a_cmd_running_its_python_exe(tmp_path):
    from azrender.jobs.blender import _python_of, launcher_script

    python = r"C:\Users\Ana Lee\bpy 4.5\Scripts\python.exe"
    runner = r"C:\Users\Ana Lee\AppData\Local\azrender\blender\0123\bpy_blender.py"
    assert launcher_script(python, runner, windows=True) == (
        "blender.cmd", f'@"{python}" "{runner}" %*\r\n@exit /b %errorlevel%\r\n')
    name, text = launcher_script(r"D:\100%\Scripts\python.exe", runner, windows=True)
    assert text.startswith(r'@"D:\100%%\Scripts\python.exe" ')  # cmd would expand a single %
    venv = tmp_path / "bpy45"  # a Windows venv's layout: Scripts\python.exe, no bin/
    (venv / "Scripts").mkdir(parents=True)
    (venv / "Scripts" / "python.exe").touch()
    assert _python_of(venv) == venv / "Scripts" / "python.exe"


def test_the_bpy_launcher_runs_blenders_command_line_from_an_awkward_path(scene_50, tmp_path, monkeypatch):
    """For real here: a bpy venv behind a path with a space and a quote, as a Blender."""
    from azrender.jobs.blender import probe

    monkeypatch.setenv("AZRENDER_STATE_DIR", str(tmp_path / "it's state"))
    venv = tmp_path / "Ana's bpy 5.0"
    venv.symlink_to(REPO / ".venv-bpy" / "5.0")
    found = probe(str(venv), "--blender")
    assert found.version[:2] == (5, 0)
    proc = subprocess.run([found.executable, "-b", str(scene_50), "--python-exit-code", "1", "--python-expr",
                           "import bpy; print('OPENED', bpy.data.filepath)"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"OPENED {scene_50}" in proc.stdout
