"""Job specs: renderer command lines that survive hostile paths on a real shell, chunking, storage
modes, hooks, and a generated Blender task rendering for real."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from azrender.errors import UsageError
from azrender.jobs import commands
from azrender.jobs.build import build_job
from azrender.jobs.model import NodeAccess, Problem
from conftest import run_blender

ACCESS = NodeAccess("https://acct.blob.core.windows.net/assets/p?sv=1&sig=abc123abc123",
                    "https://acct.blob.core.windows.net/out?sv=1&sig=def456def456")
HOSTILE = "$AZ_BATCH_NODE_SHARED_DIR/azrender/assets/proj/shot 010 \"final\"/it's $HOME `id` \\ é 日本.blend"


def build(**kw):
    kw.setdefault("host", "blender")
    kw.setdefault("scene", "$AZ_BATCH_NODE_SHARED_DIR/azrender/assets/proj/scene.blend")
    kw.setdefault("frames", "1-4")
    kw.setdefault("chunk", 1)
    kw.setdefault("pool_id", "pool1")
    return build_job(job_id=kw.pop("job_id", "job1"), manifest_key="manifests/m.json", access=ACCESS,
                     tool_key="tools/t.pyz", **kw)


@pytest.fixture
def argv_printer(tmp_path):
    """An executable that prints the argv it received as JSON (stands in for a renderer)."""
    exe = tmp_path / "bin" / "renderer"
    exe.parent.mkdir()
    exe.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    exe.chmod(0o755)
    return str(exe)


def run_task(command_line: str, tmp_path) -> subprocess.CompletedProcess:
    """Run a Linux task command line the way Batch does: split into words, no outer shell."""
    env = dict(os.environ, AZ_BATCH_NODE_SHARED_DIR=str(tmp_path / "shared"),
               AZ_BATCH_TASK_WORKING_DIR=str(tmp_path / "wd"), HOME="/home/nobody")
    return subprocess.run(shlex.split(command_line), capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("host", ["blender", "maya", "max"])
def test_hostile_scene_paths_reach_the_renderer_unchanged(host, tmp_path, argv_printer):
    spec = build(host=host, scene=HOSTILE, frames="7", executable=argv_printer)
    proc = run_task(spec.tasks[0].command_line, tmp_path)
    assert proc.returncode == 0, proc.stderr
    argv = json.loads(proc.stdout)
    expected_scene = HOSTILE.replace("$AZ_BATCH_NODE_SHARED_DIR", str(tmp_path / "shared"))
    out_dir = str(tmp_path / "wd" / "out")
    if host == "blender":
        assert argv[:2] == ["-b", expected_scene]
        assert argv[argv.index("-o") + 1] == f"{out_dir}/frame_####"
        assert argv[-5:] == ["-s", "7", "-e", "7", "-a"]
        # Cycles' denoiser guard and the output settings come before -a, which renders at once.
        assert argv.index("--python-expr") < argv.index("-a")
    elif host == "maya":
        assert argv[-1] == expected_scene
        assert argv[argv.index("-s") + 1] == "7" and argv[argv.index("-rd") + 1] == out_dir
        assert argv[argv.index("-r") + 1] == "arnold"
    else:
        assert argv[-1] == expected_scene
        assert argv[:4] == ["-start:7", "-end:7", "-nthFrame:1", f"-outputName:{out_dir}/frame_.png"]


def test_a_failing_pre_command_stops_the_task(tmp_path, argv_printer):
    spec = build(executable=argv_printer, pre_commands=(("false",),))
    proc = run_task(spec.tasks[0].command_line, tmp_path)
    assert proc.returncode != 0 and proc.stdout == ""


def test_windows_command_lines_quote_for_cmd_and_refuse_what_cmd_cannot_carry():
    spec = build(node_os="windows", scene="%AZ_BATCH_NODE_SHARED_DIR%\\azrender\\assets\\p\\my scene.blend")
    line = spec.tasks[0].command_line
    assert line.startswith('cmd /c "blender.exe -b "%AZ_BATCH_NODE_SHARED_DIR%\\azrender\\assets\\p\\my scene.blend"')
    assert " -o %AZ_BATCH_TASK_WORKING_DIR%\\out\\frame_#### " in line
    with pytest.raises(UsageError, match="cmd.exe"):
        build(node_os="windows", scene="C:\\scenes\\100%.blend")


def test_frames_are_chunked_into_consecutive_runs_with_unique_short_ids():
    spec = build(frames="1-10,20-23,-2", chunk=4)
    assert [t.frames for t in spec.tasks] == [(-2,), (1, 2, 3, 4), (5, 6, 7, 8), (9, 10), (20, 21, 22, 23)]
    assert [t.id for t in spec.tasks] == ["frames-m0002", "frames-0001-0004", "frames-0005-0008",
                                         "frames-0009-0010", "frames-0020-0023"]
    assert "-s 5 -e 8 -a" in spec.tasks[2].command_line
    with pytest.raises(UsageError, match="invalid frame range"):
        build(frames="10-1")
    with pytest.raises(UsageError, match="invalid job id"):
        build(job_id="bad id/with slash")


def test_storage_modes_shape_preparation_and_release():
    copy = build(storage_mode="copy")
    assert "prep --store https://acct.blob.core.windows.net/assets/p --job job1" in copy.preparation.command_line
    assert not copy.preparation.elevated and "release --job job1" in copy.release.command_line
    assert copy.tasks[0].max_wall_clock_seconds == 24 * 3600
    fuse = build(storage_mode="blobfuse")  # an existing pool without a mount: prep mounts it
    assert "--mount blobfuse --account acct --container assets" in fuse.preparation.command_line
    assert fuse.preparation.elevated and "--unmount azrender" in fuse.release.command_line
    mounted = build(storage_mode="blobfuse", pool_has_mount=True)
    assert "--mounted" in mounted.preparation.command_line and "--unmount" not in mounted.release.command_line
    assert not mounted.preparation.elevated
    share = build(storage_mode="fileshare")
    assert share.problems and share.problems[0].severity == "error"


def test_hooks_replace_command_lines_and_adjust_the_job():
    from azrender import hookimpl
    from azrender.plugins import new_plugin_manager

    class StudioPlugin:
        @hookimpl
        def azrender_task_command_line(self, submission, task, command_line):
            return command_line.replace("blender -b", "/opt/blender-4.2/blender -b") if task.first == 2 else None

        @hookimpl
        def azrender_adjust_job(self, submission, job):
            job.environment = (("OCIO", "/studio/ocio/config.ocio"),)
            job.problems.append(Problem("warning", "adjusted"))

    spec = build(plugins=new_plugin_manager(load_entry_points=False, plugins=[StudioPlugin()]))
    assert "/opt/blender-4.2/blender -b" in spec.tasks[1].command_line
    assert "/opt/blender-4.2" not in spec.tasks[0].command_line
    assert spec.environment == (("OCIO", "/studio/ocio/config.ocio"),)


def test_a_hook_that_puts_a_secret_in_a_command_line_is_refused():
    from azrender import hookimpl
    from azrender.errors import JobError
    from azrender.jobs.batch_models import to_batch_models
    from azrender.plugins import new_plugin_manager

    class Leaky:
        @hookimpl
        def azrender_task_command_line(self, submission, task, command_line):
            return command_line + " https://acct.blob.core.windows.net/c/x?sv=1&sig=leakedleaked"

    spec = build(plugins=new_plugin_manager(load_entry_points=False, plugins=[Leaky()]))
    with pytest.raises(JobError, match="refusing to send a secret") as info:
        to_batch_models(spec)
    assert "leakedleaked" not in str(info.value)


@pytest.mark.blender
def test_generated_blender_task_renders_for_real(blender, tmp_path):
    assets = tmp_path / "shared" / "azrender" / "assets" / "proj" / "shot 010 'final' é"
    assets.mkdir(parents=True)
    scene = assets / "scène.blend"
    run_blender(blender, "--python-expr",
                "import bpy; s = bpy.context.scene; s.render.engine = 'CYCLES'; s.cycles.samples = 1; "
                "s.cycles.use_denoising = True; s.render.resolution_x = s.render.resolution_y = 32; "
                f"bpy.ops.wm.save_as_mainfile(filepath={str(scene)!r})")
    node_scene = "$AZ_BATCH_NODE_SHARED_DIR/" + str(scene.relative_to(tmp_path / "shared"))
    spec = build(scene=node_scene, frames="1-2", chunk=2, renderer="CYCLES", executable=blender)
    (tmp_path / "wd").mkdir()
    proc = run_task(spec.tasks[0].command_line, tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    frames = sorted(p.name for p in (tmp_path / "wd" / "out").iterdir())
    assert frames == ["frame_0001.png", "frame_0002.png"]
