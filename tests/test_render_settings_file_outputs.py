"""Compositor File Output nodes in the Blender versions artists run (Debian's 3.4, the bpy wheels
4.5 and 5.0, whose File Output node names its files differently): a scene set up through each
version's own API comes back with exactly the files that Blender writes, where the scene says,
submitted from the CLI (headless reader) and from the built add-on's operator (in-app collector).
Names below are what each version wrote when we rendered the scene by hand, not what azrender
computes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import REPO, require
from exrheader import exr_channels
from pngpixels import close, pixel
from test_hosts_blender import wait_done
from test_hosts_blender_versions import bpy_python, host_env, run_host, submit_from_the_addon

pytestmark = [pytest.mark.blender, pytest.mark.slow]

VERSIONS = ("3.4", "4.5", "5.0")
SCENE = REPO / "tests" / "blender_file_output_scene.py"


def expected(version: str) -> dict[int, list[str]]:
    """Per frame: the render, the "Passes" node's two linked inputs (PNG; its own OpenEXR), the
    "Layers" multilayer file, (Blender 4.5 only, not 3.4, 4.2 or 5.0: the multilayer node with no
    input linked), the node inside a node group. Nothing from the muted node, the unlinked one or
    the unlinked input."""
    return {n: [f"render/beauty_000{n}.png", f"comp/sh010_beauty_000{n}.png", f"comp/sh010_alpha_0{n}.exr",
                f"comp/layers_000{n}.exr", *([f"unlinked/ul_000{n}.exr"] if version == "4.5" else []),
                f"nested/n_000{n}.png"] for n in (1, 2)}


LAYERS = {"alpha.V", "beauty.R"}  # the multilayer file's layers: named after slots (3.x/4.x) or items (5)


def _srgb(linear: float) -> int:
    return round(255 * (12.92 * linear if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055))


WORLD = tuple(_srgb(c) for c in (0.2, 0.4, 0.8))  # frame 1: "Camera" sees the world
RED = (255, 0, 0)  # frame 2: the marker's "Cam2" sees the red plane


@pytest.fixture(params=VERSIONS)
def version(request, blender) -> str:
    if request.param != "3.4":
        require(bpy_python(request.param).exists(), f"the bpy {request.param} wheel (.venv-bpy/{request.param})")
    return request.param


def node_blender(version: str, blender: str) -> str:
    """``--blender`` for the local backend: the one Blender the test runs end to end."""
    return blender if version == "3.4" else str(REPO / ".venv-bpy" / version)


def build(version: str, blender: str, folder: Path, *mode: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    run_host(version, blender, SCENE, str(folder / "shot.blend"), *mode, env=host_env(folder / "home"))
    return folder / "shot.blend"


def check_frames(version: str, out: Path) -> None:
    """What an artist looks at: the files, their format, their pixels."""
    got = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert got == sorted(path for paths in expected(version).values() for path in paths), got
    for n, colour in ((1, WORLD), (2, RED)):
        for png in (f"render/beauty_000{n}.png", f"comp/sh010_beauty_000{n}.png", f"nested/n_000{n}.png"):
            assert close(pixel(out / png, 8, 6), colour, tolerance=3), f"{version} {png}: {pixel(out / png, 8, 6)}"
        assert "R" in exr_channels(out / f"comp/sh010_alpha_0{n}.exr")  # the item's own format: OpenEXR
        assert LAYERS <= set(exr_channels(out / f"comp/layers_000{n}.exr")), version


def test_file_output_nodes_come_back_as_this_blender_names_them_from_the_cli(version, blender, run_cli, tmp_path):
    scene = build(version, blender, tmp_path / "shot")
    node = node_blender(version, blender)
    dry = json.loads(run_cli("submit", scene, "--backend", "local", "--blender", node, "--dry-run", "--json").stdout)
    assert dry["render"]["expected_outputs"] == {f"frames-000{n}": paths for n, paths in expected(version).items()}
    out = tmp_path / "renders"
    proc = run_cli("submit", scene, "--backend", "local", "--blender", node, "--wait", "--download", out, "--json",
                   timeout=600)
    assert proc.returncode == 0, proc.stderr
    check_frames(version, out)
    frames = json.loads(proc.stdout)["status"]["frames"]
    assert [(f["frame"], f["state"], f["outputs"]) for f in frames] == [(n, "verified", expected(version)[n]) for n in (1, 2)]


def test_file_output_nodes_come_back_from_the_built_addon(version, blender, addon_zip, run_cli, tmp_path):
    # The in-app collector reads the nodes through bpy: the verified outputs are its expectations.
    scene = build(version, blender, tmp_path / "shot")
    out, state, _ = submit_from_the_addon(version, blender, addon_zip, tmp_path, "1-2", scene=scene)
    assert out["submit"] == ["FINISHED"], out
    [[job_id, _, _]] = out["jobs"]
    status = wait_done(run_cli, job_id, state)
    assert status["failed"] == [], status
    assert [(f["frame"], f["state"], f["outputs"]) for f in status["frames"]] == [(n, "verified", expected(version)[n]) for n in (1, 2)]
    fetched = run_cli("download", job_id, "--dest", tmp_path / "frames", env=state)
    assert fetched.returncode == 0, fetched.stderr
    check_frames(version, tmp_path / "frames")


def test_in_blender_5_a_task_missing_a_file_output_fails_naming_it(blender, tmp_path, monkeypatch):
    """The settings name one more File Output item than Blender 5 writes."""
    require(bpy_python("5.0").exists(), "the bpy 5.0 wheel (.venv-bpy/5.0)")
    from azrender.pipeline import SubmitRequest, submit
    from azrender.rendersettings.blend import read_blend_settings
    from azrender.rendersettings.model import FileOutput, ImageFormat

    for name in ("STATE", "CONFIG", "CACHE"):
        monkeypatch.setenv(f"AZRENDER_{name}_DIR", str(tmp_path / name.lower()))
    monkeypatch.setenv("PYTHONPATH", str(REPO / "core"))
    scene = build("5.0", blender, tmp_path / "shot")
    settings = read_blend_settings(scene)
    extra = FileOutput("Passes", ("//comp/sh010_extra_",), ImageFormat("PNG", "png"), "//comp/")
    result = submit(SubmitRequest(scene, frames="1", blender=str(REPO / ".venv-bpy" / "5.0"), wait=True,
                                  render_settings=replace(settings, file_outputs=(*settings.file_outputs, extra)),
                                  download_dir=tmp_path / "renders"))
    [failed] = result.failed_tasks
    assert "task frames-0001 did not write 1 of its 6 expected file(s): comp/sh010_extra_0001.png" in failed.stderr_tail
    assert not (tmp_path / "renders" / "comp").exists()  # a failed task's files are not outputs


def test_in_blender_5_render_single_layer_renders_only_the_active_view_layer(blender, run_cli, tmp_path):
    require(bpy_python("5.0").exists(), "the bpy 5.0 wheel (.venv-bpy/5.0)")
    scene = build("5.0", blender, tmp_path / "shot", "single-layer")
    out = tmp_path / "renders"
    proc = run_cli("submit", scene, "--backend", "local", "--blender", REPO / ".venv-bpy" / "5.0", "--frames", "1",
                   "--wait", "--download", out, "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["render/beauty_0001.exr"]
    channels = exr_channels(out / "render" / "beauty_0001.exr")
    assert "bg.Mist.Z" in channels and not [c for c in channels if c.startswith("fg.")], channels
