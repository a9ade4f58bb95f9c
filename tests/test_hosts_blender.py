"""The Blender add-on in real Blender: it registers its menu entry, panel and operators, lists the
same dependencies as ``azrender deps`` for the same file, and refuses a scene with a missing file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path

import pytest

from conftest import REPO, run_blender
from pngpixels import close, pixel

sys.path.insert(0, str(REPO / "examples"))
import build_demo  # noqa: E402  (colours and pixel positions only; needs no Blender to import)

pytestmark = pytest.mark.blender

ADDON = REPO / "plugins" / "blender" / "azrender_blender"


@pytest.fixture(scope="module")
def shot(blender, tmp_path_factory):
    out = tmp_path_factory.mktemp("hosts") / "shot é"
    run_blender(blender, "--python", str(REPO / "tests" / "hosts_blender_scene.py"), "--", str(out))
    return out / "shot.blend"


@pytest.fixture
def addon_blender(blender, tmp_path):
    """Run Blender with the add-on installed the way an artist's copy is (user scripts/addons)."""
    scripts = tmp_path / "scripts"
    (scripts / "addons").mkdir(parents=True)
    (scripts / "addons" / "azrender_blender").symlink_to(ADDON)
    base_env = {
        "BLENDER_USER_SCRIPTS": str(scripts),
        "PYTHONPATH": os.pathsep.join([str(REPO / "core"), sysconfig.get_paths()["purelib"]]),
        "AZRENDER_CACHE_DIR": str(tmp_path / "cache"),
        "AZRENDER_CONFIG_DIR": str(tmp_path / "config"),
        "AZRENDER_STATE_DIR": str(tmp_path / "state"),
    }

    def run(*args: str, script: str = "", env: dict | None = None):
        expr = ["--python-expr", textwrap.dedent(script)] if script else []
        merged = {**base_env, **(env or {})}
        if env and "PYTHONPATH" in env:  # the venv's packages stay reachable after the caller's paths
            merged["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], base_env["PYTHONPATH"]])
        return run_blender(blender, *args[:1], "--addons", "azrender_blender", *args[1:], *expr, env=merged)

    return run


def results(proc) -> dict:
    lines = [line[len("RESULT "):] for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(lines[-1])


def assert_same_as_headless(in_blender: list, headless, shot) -> None:
    """The add-on's list is ``azrender deps``'s, every frame of every sequence included."""
    expected = sorted([d["path"], d["kind"], d["exists"]] for d in json.loads(headless.stdout)["dependencies"])
    assert sorted(in_blender) == expected
    clips = str(shot.parent / "clips")
    assert [f"{clips}/track.0002.png", "movie", True] in expected, "a movie clip's image sequence, every frame"


def test_the_addon_adds_render_on_azure_to_the_render_menu_and_a_panel(addon_blender):
    proc = addon_blender(script="""
        import json, threading, bpy
        from azrender.hosts.background import Background
        from azrender_blender import ops
        menu = [f.__module__ for f in bpy.types.TOPBAR_MT_render._dyn_ui_initialize()]
        gate = threading.Event()
        ops._submitting[:] = [Background(lambda progress: gate.wait(10)).start()]  # a submission running
        busy = bpy.ops.azrender.submit.poll()
        gate.set()
        ops._submitting[0].wait(10)

        class Layout:  # records what the panel draws; props and operators must exist
            drawn = []
            def __getattr__(self, name):
                return self if name in ("row", "column", "box") else None
            def __call__(self, *args, **kwargs):
                return self
            def prop(self, data, name, **kwargs):
                assert name in data.bl_rna.properties, name
                Layout.drawn.append(name)
            def operator(self, idname, **kwargs):
                module, name = idname.split(".")
                getattr(getattr(bpy.ops, module), name).get_rna_type()
                Layout.drawn.append(idname)
            def label(self, text="", **kwargs):
                Layout.drawn.append("label:" + text)
            def template_list(self, list_type, list_id, data, prop, active_data, active_prop, **kwargs):
                assert prop in data.bl_rna.properties and active_prop in active_data.bl_rna.properties
                Layout.drawn.append("list:" + prop)
            def separator(self):
                pass

        class Panel:
            layout = Layout()

        bpy.types.AZRENDER_PT_render.draw(Panel(), bpy.context)
        print("RESULT " + json.dumps({
            "panel": Layout.drawn,
            "second_submit_while_busy": busy, "submit_after": bpy.ops.azrender.submit.poll(),
            "menu": menu,
            "operator": bpy.ops.azrender.submit.get_rna_type().name,
            "panel_context": bpy.types.AZRENDER_PT_render.bl_context,
            "settings": sorted(bpy.types.Scene.bl_rna.properties["azrender"].fixed_type.properties.keys()),
        }))
    """)
    out = results(proc)
    assert "azrender_blender.ui" in out["menu"]
    assert out["operator"] == "Render on Azure…"
    assert out["panel_context"] == "render"
    assert out["second_submit_while_busy"] is False and out["submit_after"] is True
    # The greyed frames show the scene's own range (factory startup: 1-250), and where it renders.
    for shown in ("profile", "backend", "storage_mode", "label:Frames: 1-250", "chunk", "list:dependencies",
                  "azrender.submit", "list:jobs", "azrender.download", "azrender.retry", "label:Plugins: none",
                  "label:Renders on: This machine (no Azure account configured)"):
        assert shown in out["panel"]
    for name in ("profile", "backend", "storage_mode", "frames", "chunk", "dependencies", "jobs"):
        assert name in out["settings"]


def test_the_panel_lists_the_same_dependencies_as_azrender_deps(addon_blender, shot, run_cli):
    proc = addon_blender(str(shot), script="""
        import json, bpy
        bpy.ops.azrender.refresh_dependencies()
        deps = bpy.context.scene.azrender.dependencies
        print("RESULT " + json.dumps([[d.path, d.kind, d.exists] for d in deps]))
    """)
    in_blender = results(proc)
    headless = run_cli("deps", shot, "--json")
    assert headless.returncode == 3, headless.stderr  # the shot has one missing texture
    assert_same_as_headless(in_blender, headless, shot)
    kinds = {kind for _, kind, _ in in_blender}
    assert {"texture", "library", "sound", "font", "volume", "movie", "other"} <= kinds
    assert [str(shot.parent / "edit" / f"plate.000{n}.png") for n in (1, 2)] == sorted(
        p for p, _, _ in in_blender if "/edit/" in p)  # the sequencer strip's images
    assert [p for p, _, exists in in_blender if not exists] == [str(shot.parent / "textures" / "missing.png")]
    # Missing files come first in the list, so the artist sees them without scrolling.
    assert in_blender[0][2] is False


def test_a_missing_texture_blocks_the_submission_and_names_the_file(addon_blender, shot, tmp_path):
    proc = addon_blender(str(shot), script="""
        import json, bpy
        try:
            outcome = sorted(bpy.ops.azrender.submit())
        except RuntimeError as exc:
            outcome = str(exc)
        listed = [[d.path, d.exists] for d in bpy.context.scene.azrender.dependencies]
        print("RESULT " + json.dumps({"outcome": outcome, "listed": listed}))
    """)
    out = results(proc)
    outcome = out["outcome"]
    assert isinstance(outcome, str) and "missing.png" in outcome and "1 missing file" in outcome
    assert out["listed"][0] == [str(shot.parent / "textures" / "missing.png"), False]  # shown first, in red
    assert not list(shot.parent.glob("*.azrender-submit.blend"))  # no submission copy was saved


def test_a_studio_plugin_adds_the_same_files_in_blender_as_headless(addon_blender, blender, shot, run_cli, tmp_path):
    """The TD example plugin (installed through its entry point) adds the show's OCIO config."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "--target", str(site), str(REPO / "examples" / "td_plugin")],
                   check=True, capture_output=True, cwd=tmp_path, timeout=240)
    # Blender reads $OCIO too: the show's config is a copy of Blender's own.
    root = Path(shutil.which(blender) or blender).resolve().parent
    shipped = next(p for pattern in ("../share/blender/datafiles/colormanagement", "*/datafiles/colormanagement")
                   for p in root.glob(pattern))
    shutil.copytree(shipped, tmp_path / "show")
    ocio = tmp_path / "show" / "config.ocio"
    env = {"OCIO": str(ocio), "PYTHONPATH": os.pathsep.join([str(REPO / "core"), str(site)])}
    proc = addon_blender(str(shot), env=env, script="""
        import json, bpy
        bpy.ops.azrender.refresh_dependencies()
        print("RESULT " + json.dumps([[d.path, d.kind, d.exists] for d in bpy.context.scene.azrender.dependencies]))
    """)
    in_blender = results(proc)
    assert [str(ocio), "other", True] in in_blender
    assert_same_as_headless(in_blender, run_cli("deps", shot, "--json", env=env), shot)


# ---- end to end, against the local backend ------------------------------------------------------


@pytest.fixture(scope="module")
def demo(blender, tmp_path_factory):
    out = tmp_path_factory.mktemp("hostsdemo") / "shot"
    run_blender(blender, "--python", str(REPO / "examples" / "build_demo.py"), "--", str(out))
    return out / "demo.blend"


def wait_done(run_cli, job_id: str, env: dict, timeout: float = 600) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        proc = run_cli("status", job_id, "--backend", "local", "--json", env=env)
        if proc.stdout.strip() and json.loads(proc.stdout)["done"]:
            return json.loads(proc.stdout)
        time.sleep(1)
    raise AssertionError(f"job {job_id} not done after {timeout} s")


@pytest.mark.slow
def test_render_on_azure_then_download_outputs_brings_the_frames_back(addon_blender, demo, run_cli, tmp_path):
    shot = tmp_path / "artist" / "demo.blend"
    shutil.copytree(demo.parent, shot.parent)
    submitted = results(addon_blender(str(shot), script="""
        import json, bpy
        s = bpy.context.scene.azrender
        s.backend, s.use_scene_frames, s.frames, s.chunk = "LOCAL", False, "1-2", 1
        outcome = sorted(bpy.ops.azrender.submit())
        bpy.ops.wm.save_mainfile()  # the job list is kept with the scene
        print("RESULT " + json.dumps({"outcome": outcome, "jobs": [[j.job_id, j.backend] for j in s.jobs]}))
    """))
    assert submitted["outcome"] == ["FINISHED"]
    [[job_id, backend]] = submitted["jobs"]
    assert backend == "local" and job_id.startswith("demo-")  # the artist's scene name, not the copy's
    status = wait_done(run_cli, job_id, {"AZRENDER_STATE_DIR": str(tmp_path / "state")})
    assert status["failed"] == []
    assert not list(shot.parent.glob("*azrender-submit*"))  # the agent removed the submission copy

    listed = results(addon_blender(str(shot), script="""
        import json, bpy
        s = bpy.context.scene.azrender
        bpy.ops.azrender.refresh_jobs()
        s.job_index = 0
        outcome = sorted(bpy.ops.azrender.download())
        print("RESULT " + json.dumps({"outcome": outcome, "state": s.jobs[0].state, "dir": s.jobs[0].download_dir}))
    """))
    assert listed["outcome"] == ["FINISHED"], listed
    assert listed["state"] == "completed: 2/2 tasks done"
    frames = sorted(Path(listed["dir"]).rglob("*.png"))
    assert [f.name for f in frames] == ["frame_0001.png", "frame_0002.png"]
    for n, frame_png in enumerate(frames, start=1):
        expected = {**build_demo.DEMO_COLOURS, "flame": build_demo.sequence_colour(n)}
        for card, (x, y) in build_demo.CARD_PIXELS.items():
            assert close(pixel(frame_png, x, y), expected[card]), f"{frame_png.name}: {card}"


@pytest.mark.slow
def test_a_studio_plugin_rewrites_task_command_lines_and_blocks_wip_scenes(addon_blender, demo, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "--target", str(site), str(REPO / "examples" / "td_plugin")],
                   check=True, capture_output=True, cwd=tmp_path, timeout=240)
    env = {"PYTHONPATH": str(site), "STUDIO_RENDER_WRAPPER": "/usr/bin/env STUDIO=1"}
    dry = results(addon_blender(str(demo), env=env, script="""
        import json, azrender_blender
        result = azrender_blender.submit(frames="1-2", backend="local", dry_run=True)
        print("RESULT " + json.dumps([t["commandLine"] for t in result.dry_run_requests["tasks"]]))
    """))
    assert len(dry) == 2 and all(line.startswith("/usr/bin/env STUDIO=1 ") for line in dry)

    wip = tmp_path / "wip" / "demo_wip.blend"
    shutil.copytree(demo.parent, wip.parent)
    (wip.parent / "demo.blend").rename(wip)
    blocked = results(addon_blender(str(wip), env=env, script="""
        import json, bpy
        try:
            outcome = sorted(bpy.ops.azrender.submit())
        except RuntimeError as exc:
            outcome = str(exc)
        print("RESULT " + json.dumps(outcome))
    """))
    assert isinstance(blocked, str) and "demo_wip.azrender-submit.blend is a work-in-progress file" in blocked


@pytest.mark.slow
def test_a_job_whose_tasks_fail_is_reported_failed_with_the_first_failures_last_lines(addon_blender, demo, tmp_path):
    fake = tmp_path / "bin" / "blender"  # says it is Blender 3.4.1, then fails every render
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\n[ "$1" = --version ] && { echo "Blender 3.4.1"; exit 0; }\n'
                    'echo "Read blend: scene"; echo "Error: Not freed memory blocks: out of memory" >&2; exit 1\n')
    fake.chmod(0o755)
    shot = tmp_path / "artist" / "demo.blend"
    shutil.copytree(demo.parent, shot.parent)
    proc = addon_blender(str(shot), script=f"""
        import json, azrender_blender
        result = azrender_blender.submit(frames="1", backend="local", wait=True, blender={str(fake)!r},
                                         download_dir={str(tmp_path / 'frames')!r})
        print("RESULT " + json.dumps([t.id for t in result.failed_tasks]))
    """)
    assert results(proc) == ["frames-0001"]
    said = [line for line in proc.stderr.splitlines() if line.startswith("azrender: job ")]
    assert len(said) == 1 and " FAILED on This machine: 1 of 1 task(s) failed; task frames-0001 failed (exit 1): " in said[0]
    assert said[0].endswith("Error: Not freed memory blocks: out of memory")
    assert "submitted" not in proc.stdout + proc.stderr.replace(said[0], "")
