"""Tasks render what the scene says (real Blender, local backend): its file names, format, view
layers and compositor outputs come back in the scene's own layout; a task whose files are missing
fails naming them; a GPU the node lacks fails the task instead of rendering on the CPU."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import REPO, failed_submission
from exrheader import exr_channels

pytestmark = [pytest.mark.blender, pytest.mark.slow]


def _scene(blender, folder, *expressions):
    """The render-settings test scene, changed by ``expressions`` (Python run in Blender) and saved."""
    path = folder / "shot.blend"
    subprocess.run([blender, "-b", "--factory-startup", "--python-exit-code", "1", "--python",
                    str(REPO / "tests" / "blender_render_settings_scene.py"), "--", str(path)],
                   check=True, capture_output=True, timeout=120)
    if expressions:
        subprocess.run([blender, "-b", str(path), "--python-exit-code", "1", "--python-expr",
                        "import bpy; s = bpy.context.scene; " + "; ".join(expressions)
                        + "; bpy.ops.wm.save_mainfile()"], check=True, capture_output=True, timeout=120)
    return path


def test_multilayer_exr_and_file_output_come_back_as_the_scene_names_them(run_cli, blender, tmp_path):
    scene = _scene(blender, tmp_path)
    plan = json.loads(run_cli("submit", scene, "--dry-run", "--json").stdout)["render"]
    assert plan["expected_outputs"]["frames-0005"] == ["render/sh010_beauty_0005.exr", "comp/depth_0005.png",
                                                       "comp/alpha_0005.png"]
    out = tmp_path / "renders"
    proc = run_cli("submit", scene, "--wait", "--download", out, "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    got = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert got == sorted(path for files in plan["expected_outputs"].values() for path in files)
    channels = exr_channels(out / "render" / "sh010_beauty_0005.exr")
    for channel in ("fg.Combined.R", "fg.Depth.Z", "fg.Normal.X", "bg.Combined.A", "bg.Mist.Z"):
        assert channel in channels, channels
    assert not [c for c in channels if c.startswith("off.")], "a view layer switched off was rendered"
    assert (out / "comp" / "depth_0003.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    frames = json.loads(proc.stdout)["status"]["frames"]
    assert [(f["frame"], f["state"], f["outputs"]) for f in frames] == [
        (n, "verified", plan["expected_outputs"][f"frames-{n:04d}"]) for n in (3, 5, 7)]


def test_render_single_layer_renders_only_the_active_view_layer(run_cli, blender, tmp_path):
    # A command-line render ignores "Render Single Layer"; the task applies it as the artist saw it.
    scene = _scene(blender, tmp_path, "s.render.use_single_layer = True", "s.use_nodes = False",
                   "bpy.context.window.view_layer = s.view_layers['bg']")
    out = tmp_path / "renders"
    proc = run_cli("submit", scene, "--frames", "3", "--wait", "--download", out, "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    channels = exr_channels(out / "render" / "sh010_beauty_0003.exr")
    assert "bg.Mist.Z" in channels and not [c for c in channels if c.startswith("fg.")], channels


def test_overrides_are_in_the_plan_and_the_render(run_cli, blender, tmp_path):
    scene = _scene(blender, tmp_path, "s.render.image_settings.file_format = 'PNG'", "s.use_nodes = False")
    out = tmp_path / "renders"
    proc = run_cli("submit", scene, "--override", "frames=4", "--override", "resolution=100", "--wait",
                   "--download", out, "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    png = (out / "render" / "sh010_beauty_0004.png").read_bytes()
    assert int.from_bytes(png[16:20], "big") == 64  # the scene says 50 % of 64 px; the override 100 %
    dry = json.loads(run_cli("submit", scene, "--override", "samples=3", "--dry-run", "--json").stdout)["render"]
    assert dry["overrides"] == {"samples": 3} and list(dry["expected_outputs"]) == ["frames-0003", "frames-0005", "frames-0007"]
    bad = run_cli("submit", scene, "--override", "colour=red", "--dry-run")
    assert bad.returncode == 2 and "--override 'colour=red'" in bad.stderr and len(bad.stderr.strip().splitlines()) <= 2


def test_a_render_that_writes_nothing_fails_and_status_says_so(run_cli, blender, tmp_path):
    scene = _scene(blender, tmp_path, "bpy.data.objects.remove(bpy.data.objects['Camera'])",
                   "bpy.data.objects.remove(bpy.data.objects['Cam2'])", "s.timeline_markers.clear()")
    failed, status = failed_submission(run_cli, scene, "--frames", "3", "--download", tmp_path / "renders", timeout=600)
    assert "Cannot render, no camera" in failed["stderr_tail"]
    assert "frame 3: failed" in status, status


def test_fewer_files_than_the_scene_says_fails_naming_the_missing_ones(blender, tmp_path, monkeypatch):
    """The settings a host plugin collected name one more File Output slot than the render writes."""
    from dataclasses import replace

    from azrender.pipeline import SubmitRequest, submit
    from azrender.rendersettings.blend import read_blend_settings
    from azrender.rendersettings.model import FileOutput, ImageFormat

    for name in ("STATE", "CONFIG", "CACHE"):
        monkeypatch.setenv(f"AZRENDER_{name}_DIR", str(tmp_path / name.lower()))
    monkeypatch.setenv("PYTHONPATH", str(REPO / "core"))
    scene = _scene(blender, tmp_path)
    settings = read_blend_settings(scene)
    extra = FileOutput("Extra", ("//comp/extra_",), ImageFormat("PNG", "png"), "//comp/")
    result = submit(SubmitRequest(scene, frames="3", render_settings=replace(settings, file_outputs=(*settings.file_outputs, extra)),
                                  wait=True, download_dir=tmp_path / "renders"))
    [failed] = result.failed_tasks
    assert "task frames-0003 did not write 1 of its 4 expected file(s): comp/extra_0003.png" in failed.stderr_tail
    assert not (tmp_path / "renders" / "comp" / "depth_0003.png").exists()  # a failed task's files are not outputs


def test_a_gpu_the_node_lacks_fails_the_task_with_its_message(run_cli, blender, tmp_path):
    scene = _scene(blender, tmp_path)
    proc = run_cli("submit", scene, "--frames", "3", "--device", "optix", "--wait", "--download",
                   tmp_path / "renders", "--json", timeout=600)
    assert proc.returncode == 1, proc.stderr
    [failed] = json.loads(proc.stdout)["status"]["failed"]
    assert "asks Cycles to render on OPTIX" in failed["stderr_tail"] and "not rendering on the CPU" in failed["stderr_tail"]
    assert not list((tmp_path / "renders").rglob("*.exr"))
