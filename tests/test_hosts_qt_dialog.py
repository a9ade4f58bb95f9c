"""The Qt "Render on Azure" dialog of the Maya and 3ds Max plugins, in real Qt (PySide6, offscreen),
driven through the Maya plug-in against the maya.cmds stand-in."""

from __future__ import annotations

import shutil
import sys
import time

import pytest

from conftest import REPO, SHARED_SCENES, require


@pytest.fixture
def qt(monkeypatch):
    import importlib.util

    require(importlib.util.find_spec("PySide6") is not None, "PySide6 (pip install -e '.[dev]')")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    yield app
    # Leave no window or timer behind for the tests that run after these in the same process.
    for widget in app.topLevelWidgets():
        for timer in widget.findChildren(QtCore.QTimer):
            timer.stop()
        widget.close()
        widget.deleteLater()
    app.processEvents()


@pytest.fixture
def maya(qt, monkeypatch, tmp_path):
    from PySide6 import QtWidgets

    for path in (REPO / "tests" / "standins", REPO / "plugins" / "maya" / "scripts"):
        monkeypatch.syspath_prepend(str(path))
    monkeypatch.setenv("AZRENDER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AZRENDER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AZRENDER_CONFIG_DIR", str(tmp_path / "config"))
    for name in [m for m in sys.modules if m.split(".")[0] in ("maya", "azrender_maya")]:
        monkeypatch.delitem(sys.modules, name)
    from maya import OpenMayaUI, cmds

    OpenMayaUI.MAIN_WINDOW = QtWidgets.QMainWindow()
    return cmds


def maya_main_window():
    from maya import OpenMayaUI

    return OpenMayaUI.MAIN_WINDOW


def wait_for(app, condition, timeout=10.0):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "the dialog did not get there in time"
        app.processEvents()
        time.sleep(0.01)


def test_the_dialog_lists_missing_files_in_red_and_refuses_to_submit(maya, qt, tmp_path):
    scene = tmp_path / "cube.ma"
    shutil.copy(SHARED_SCENES / "deadline_maya_cube" / "scene" / "cube.ma", scene)
    maya.open_scene(str(scene))
    from azrender_maya import dialog

    dialog.show()
    window = dialog._dialog
    assert window.isVisible() and window.parent() is maya_main_window()
    items = [window.dependencies.item(i) for i in range(window.dependencies.count())]
    assert len(items) == 2 and all(i.foreground().color().name() == "#e05050" for i in items)
    assert window.status.text() == "2 file(s), 2 missing"
    window.submit_button.click()
    assert "missing file" in window.status.text() and "deadline_logo_48x48.png" in window.status.text()
    assert window.work is None


def test_the_dialog_flags_a_pipe_refused_with_its_rule_not_missing(maya, qt, tmp_path, monkeypatch):
    import os

    from maya import scenes

    (tmp_path / "wood.png").write_bytes(b"\x89PNG wood")
    os.mkfifo(tmp_path / "pipe.png")  # where a texture should be: reading it would block forever
    scene = tmp_path / "pipe_shot.ma"
    scene.write_text("//Maya ASCII 2023 scene\n")
    monkeypatch.setitem(scenes.SCENES, scene.name, {"nodes": {
        "f0": ("file", {"fileTextureName": str(tmp_path / "pipe.png")}),
        "f1": ("file", {"fileTextureName": str(tmp_path / "wood.png")})}})
    maya.open_scene(str(scene))
    monkeypatch.setenv("AZRENDER_MAYA_RENDER", "/bin/true")
    from azrender_maya import dialog

    dialog.show()
    window = dialog._dialog
    items = [window.dependencies.item(i) for i in range(window.dependencies.count())]
    assert [i.text() for i in items] == [
        f"REFUSED    {tmp_path / 'pipe.png'} (not a regular file (a device, pipe or socket))",
        f"texture    {tmp_path / 'wood.png'}"]
    assert items[0].foreground().color().name() == "#e05050"
    assert window.status.text() == "2 file(s), 1 refused"
    window.submit_button.click()  # refused by the plan, on the worker: nothing is sent
    wait_for(qt, lambda: "not a regular file (a device, pipe or socket); not sent" in window.status.text(), timeout=60)
    assert not [p for p in (tmp_path / "state" / "store").rglob("*") if p.is_file()], "something was uploaded"


STAND_IN_RENDER = """#!/usr/bin/env python3
# Stands in for Maya's Render on this machine: writes each frame as a 4x2 PNG of one colour
import os, struct, sys, zlib
args = sys.argv[1:]
flag = lambda name: args[args.index(name) + 1]
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
os.makedirs(flag("-rd"), exist_ok=True)
for frame in range(int(flag("-s")), int(flag("-e")) + 1):
    row = b"\\0" + bytes([40 * frame, 200, 30]) * 4
    png = (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 2, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(row * 2)) + chunk(b"IEND", b""))
    open(f"{flag('-rd')}/{flag('-im')}.{frame:04d}.png", "wb").write(png)
"""


def inbox_request(tmp_path, job_id: str):
    """The request the dialog handed to the agent, as the agent will submit it."""
    import json

    from azrender.agent import decode

    return decode(json.loads((tmp_path / "state" / "agent" / "inbox" / f"{job_id}.json").read_text())["request"])


@pytest.mark.slow
def test_submit_hands_the_job_to_the_agent_which_renders_it_and_the_list_follows_it(maya, qt, monkeypatch, tmp_path):
    """Submit returns once the job is handed over (the dialog could close, Maya could quit); the
    real agent uploads and submits it, the stand-in Render renders it on this machine, the job list
    follows it to its end and the frames are back beside the scene."""
    from pngpixels import pixel

    project = tmp_path / "mayausd_rel_project"
    shutil.copytree(SHARED_SCENES / "mayausd_rel_project", project)
    with open(project / "scenes" / "TextureTest.ma", "a") as scene:  # Arnold writes PNGs, frames padded to 4
        scene.write('setAttr "defaultArnoldDriver.ai_translator" -type "string" "png";\n'
                    'setAttr "defaultRenderGlobals.pad" 4;\n')
    render = tmp_path / "bin" / "Render"
    render.parent.mkdir()
    render.write_text(STAND_IN_RENDER)
    render.chmod(0o755)
    monkeypatch.setenv("AZRENDER_MAYA_RENDER", str(render))
    maya.open_scene(str(project / "scenes" / "TextureTest.ma"))
    from azrender_maya import dialog

    dialog.show()
    window = dialog._dialog
    assert window.status.text() == "1 file(s)"
    window.frames.setText("1-2")
    window.chunk.setValue(1)
    assert [window.backend.itemText(i) for i in range(window.backend.count())] == ["Automatic", "Azure Batch", "This machine"]
    window.backend.setCurrentText("This machine")
    window.submit_button.click()
    assert not window.submit_button.isEnabled()  # the UI returned at once; the check is on a thread
    wait_for(qt, lambda: window.submit_button.isEnabled())
    job_id = window.job.text()
    renders = project / "scenes" / "renders" / job_id
    assert job_id.startswith("TextureTest-") and window.status.text() == (
        f"azrender: job {job_id} handed to the background agent: it uploads and submits it (also after this "
        f"application is closed) and brings the frames to {renders}")
    assert ("inViewMessage", (), {"assistMessage": window.status.text(), "position": "topCenter", "fade": True}) in maya.CALLS
    try:
        request = inbox_request(tmp_path, job_id)  # the agent may have taken it already
        assert (request.frames, request.chunk, request.backend, request.host) == ("1-2", 1, "local", "maya")
        assert [d.path for d in request.report.dependencies] == [str(project / "sourceimages/grid.png")]
    except FileNotFoundError:
        pass

    def listed_done():
        rows = {row.job_id: row for row in window.job_rows}
        return job_id in rows and rows[job_id].state in ("done", "failed", "not submitted")

    wait_for(qt, listed_done, timeout=300)  # no Refresh pressed: the list follows the live job
    row = window.jobs.item(window.job_rows.index(next(r for r in window.job_rows if r.job_id == job_id))).text()
    assert row == f"{job_id}  done · This machine  TextureTest.ma  2/2 tasks done", (row, window.job_details.text())
    frames = sorted(renders.glob("*.png"))
    assert [f.name for f in frames] == ["TextureTest.0001.png", "TextureTest.0002.png"]  # the scene's <Scene>.####.png
    assert [pixel(f, 3, 1) for f in frames] == [(40, 200, 30), (80, 200, 30)]

    # Retry failed frames of the job just submitted (azrender retry itself is tested in test_farm_retry)
    from azrender.backends import retry

    asked = []

    def fake_retry(backend, job_id, **options):
        asked.append((backend.kind, job_id, options))
        return retry.RetryPlan(job_id, f"{job_id}-r1", (7, 8), (7, 8), ())

    monkeypatch.setattr(retry, "retry_job", fake_retry)
    window.retry_button.click()
    wait_for(qt, lambda: window.retry_button.isEnabled())
    from azrender.pipeline import retry_submission

    assert asked == [("local", job_id, {"frames": None, "failed_only": False, "dry_run": False,
                                        "submission_for": retry_submission})]  # the task hooks see the retry
    assert window.status.text() == f"azrender: {job_id}: retrying frame(s) 7-8 as job {job_id}-r1 (2 failed)"


def max_dialog(monkeypatch, tmp_path, **render):
    """The 3ds Max dialog on a copy of MiniHouse set up as ``render`` (pymxs ``set_render``)."""
    from PySide6 import QtWidgets

    for path in (REPO / "tests" / "standins", REPO / "plugins" / "3dsmax" / "Contents" / "python"):
        monkeypatch.syspath_prepend(str(path))
    for name in ("CACHE", "STATE", "CONFIG"):
        monkeypatch.setenv(f"AZRENDER_{name}_DIR", str(tmp_path / name.lower()))
    for name in [m for m in sys.modules if m.split(".")[0] in ("pymxs", "qtmax", "azrender_max")]:
        monkeypatch.delitem(sys.modules, name)
    import pymxs
    import qtmax

    qtmax.MAIN_WINDOW = QtWidgets.QMainWindow()
    scene = tmp_path / "MiniHouse" / "MiniHouse.max"
    shutil.copytree(SHARED_SCENES / "max_minihouse", scene.parent)
    pymxs.open_scene(str(scene))
    pymxs.runtime.set_render(**render)
    from azrender_max import dialog

    dialog.show()
    assert dialog._dialog.parent() is qtmax.MAIN_WINDOW
    return dialog._dialog, scene


def test_the_3dsmax_dialog_refuses_what_cannot_render_before_handing_it_over(qt, monkeypatch, tmp_path):
    """The submission is planned before the agent gets it: a 3ds Max scene cannot render on this
    (Linux) machine, nor on a profile's Linux nodes, which the dialog says at once with what to
    choose in it instead (no command-line flag), and nothing is queued."""
    monkeypatch.delenv("AZRENDER_3DSMAXCMD", raising=False)
    window, _ = max_dialog(monkeypatch, tmp_path, rendTimeType=3, rendStart=1, rendEnd=12)
    assert window.frames.text() == "1-12"
    config = tmp_path / "config" / "config.toml"
    window.backend.setCurrentText("This machine")
    window.submit_button.click()
    wait_for(qt, lambda: window.submit_button.isEnabled())
    assert window.status.text() == ("3ds Max renders on Windows only and this machine runs linux\n"
                                    f'hint: render it on Azure Batch with a profile whose node_os = "windows" ({config})')
    config.write_text('[profiles.linux-farm]\nbatch_url = "https://studio.westeurope.batch.azure.com"\npool_id = "p"\n')
    window.backend.setCurrentText("Azure Batch")
    window.profile.setText("linux-farm")
    window.submit_button.click()
    wait_for(qt, lambda: window.submit_button.isEnabled())
    assert window.status.text() == ("MiniHouse.max: 3ds Max renders on Windows nodes only\n"
                                    f'hint: choose a profile with node_os = "windows" in {config}')
    assert "--os" not in window.status.text()
    assert not window.job.text() and not list((tmp_path / "state" / "agent" / "inbox").glob("*"))


@pytest.mark.slow
def test_the_3dsmax_dialog_renders_on_this_machine_and_every_element_comes_back_where_the_scene_says(qt, monkeypatch,
                                                                                                   tmp_path):
    """Submit from the 3ds Max dialog to this machine, rendered by the 3dsmaxcmd stand-in (which
    knows the shot's Render Setup from the same hand-written table): the pick-up frames' main files
    and render elements come back beside the scene in the scene's layout, verified on the node."""
    from max_standin import stand_in_3dsmaxcmd
    from test_hosts_max import SHOT

    monkeypatch.setenv("AZRENDER_3DSMAXCMD", str(stand_in_3dsmaxcmd(tmp_path / "bin", SHOT)))
    monkeypatch.setenv("PYTHONPATH", str(REPO / "core"))
    window, scene = max_dialog(monkeypatch, tmp_path, **SHOT)
    assert window.frames.text() == "1,3"  # Render Setup's pick-up frames
    window.backend.setCurrentText("This machine")
    window.submit_button.click()
    wait_for(qt, lambda: window.submit_button.isEnabled())
    job_id = window.job.text()
    assert job_id.startswith("MiniHouse-"), window.status.text()

    def listed_done():
        rows = {row.job_id: row for row in window.job_rows}
        return job_id in rows and rows[job_id].state in ("done", "failed", "not submitted")

    wait_for(qt, listed_done, timeout=300)
    row = next(r for r in window.job_rows if r.job_id == job_id)
    assert row.state == "done", window.job_details.text()
    renders = scene.parent / "renders" / job_id
    frames = sorted(p.relative_to(renders).as_posix() for p in renders.rglob("*.exr"))
    assert frames == ["house_0001.exr", "house_0003.exr", "house__Reflection0001.exr", "house__Reflection0003.exr",
                      "passes/Tiefe ü/it's z0001.exr", "passes/Tiefe ü/it's z0003.exr"]  # Shadow is disabled
    assert (renders / "passes/Tiefe ü/it's z0003.exr").read_bytes() == b"fake 3ds Max ZDepth it's z0003.exr"


@pytest.mark.blender
@pytest.mark.slow
def test_the_dialog_lists_jobs_from_any_host_shows_why_one_is_held_and_downloads(maya, qt, run_cli, blender, tmp_path):
    """A real held job (a scene whose texture is gone, caught pink by its scout frames) and a
    finished one, submitted from Blender's side: the Maya dialog lists both with their live state,
    says why one is held with the hint on its own line, and downloads the other's frames."""
    from conftest import run_blender

    scene, left, right = tmp_path / "shot" / "two.blend", tmp_path / "shot" / "left.png", tmp_path / "shot" / "right.png"
    scene.parent.mkdir()
    run_blender(blender, "--python", str(REPO / "tests" / "blender_scene_with_textures.py"), "--",
                str(scene), str(left), str(right))
    texture = left.read_bytes()
    left.unlink()
    held = run_cli("submit", scene, "--frames", "1-3", "--allow-missing", "--scout", "1", "--wait",
                   "--download", tmp_path / "scouts")
    assert held.returncode == 1 and "held:" in held.stdout, held.stdout
    left.write_bytes(texture)
    done = run_cli("submit", scene, "--frames", "1-2", "--wait", "--download", tmp_path / "elsewhere")
    assert done.returncode == 0, done.stderr
    done_id, held_id = (p.stdout.split("job ", 1)[1].split()[0] for p in (done, held))

    maya.open_scene(str(SHARED_SCENES / "mayausd_rel_project" / "scenes" / "TextureTest.ma"))
    from azrender_maya import dialog

    dialog.show()
    window = dialog._dialog
    wait_for(qt, lambda: window.jobs.count() == 2, timeout=60)
    rows = [window.jobs.item(i).text() for i in range(2)]
    assert rows == [f"{done_id}  done · This machine  two.blend  2/2 tasks done", f"{held_id}  held · This machine  two.blend"]
    window.jobs.setCurrentRow(1)
    details = window.job_details.text().splitlines()
    assert details[0] == f"{held_id} (Blender two.blend) on This machine: held"
    assert "pink missing-texture colour" in details[1]
    assert details[-1].startswith(f"hint: azrender release {held_id}")
    window.jobs.setCurrentRow(0)
    window.download_button.click()
    wait_for(qt, lambda: window.download_button.isEnabled(), timeout=60)
    frames = scene.parent / "renders" / done_id
    assert window.job_details.text() == f"Frames downloaded to {frames}"
    assert sorted(p.name for p in frames.glob("*.png")) == ["frame_0001.png", "frame_0002.png"]
