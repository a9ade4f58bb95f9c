"""`azrender submit --dry-run --json` for every host, from the CLI: the exact Batch requests, built
from real scenes, with no credentials and no secret in the output."""

from __future__ import annotations

import json
import shutil

import pytest
from azure.batch import models as m

from batchspec import assert_valid
from conftest import SHARED_SCENES


def dry_run(run_cli, scene, *args, env=None):
    proc = run_cli("submit", scene, "--dry-run", "--json", "--backend", "batch", "--pool", "render-pool",
                   "--storage-url", "https://studioassets.blob.core.windows.net/renders/show1", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == {"pool", "job", "tasks", "render"}  # the REST bodies, and the render plan they carry out
    m.BatchJobCreateOptions(doc["job"])  # the REST JSON rebuilds into the SDK's models
    for task in doc["tasks"]:
        m.BatchTaskCreateOptions(task)
    assert_valid(doc)  # and is what the Batch REST specification (2025-06-01) accepts
    return doc


@pytest.fixture
def maya_cube(tmp_path):
    scene = tmp_path / "cube"
    shutil.copytree(SHARED_SCENES / "deadline_maya_cube" / "scene", scene)
    return scene / "cube.ma"


def test_maya_scene_renders_its_rewritten_copy_with_dirmap_before_render(run_cli, maya_cube):
    doc = dry_run(run_cli, maya_cube, "--frames", "1-10", "--chunk", "5", "--renderer", "arnold")
    assert [t["id"] for t in doc["tasks"]] == ["defaultRenderLayer-persp-frames-0001-0005",
                                              "defaultRenderLayer-persp-frames-0006-0010"]
    command = doc["tasks"][0]["commandLine"]
    assert command.startswith("/bin/bash -c ")
    assert ("Render -r arnold -s 1 -e 5 -rd \"${AZ_BATCH_TASK_WORKING_DIR}/out\" -im cube -rl defaultRenderLayer "
            "-cam persp") in command  # the scene's prefix, <Scene>, spelled as the artist's file
    assert "cube.azrender.ma" in command and "dirmap.py" in command and " check " in command
    prep = doc["job"]["jobPreparationTask"]
    assert "prep" in prep["commandLine"] and any(f["filePath"] == "azrender_node.pyz" for f in prep["resourceFiles"])
    assert doc["job"]["jobReleaseTask"]["commandLine"]
    outputs = doc["tasks"][0]["outputFiles"]
    assert {o["uploadOptions"]["uploadCondition"] for o in outputs} == {"tasksuccess", "taskcompletion"}  # the spec's enum values


def test_max_scene_needs_windows_nodes_and_gets_3dsmaxcmdio(run_cli):
    scene = SHARED_SCENES / "max_minihouse" / "MiniHouse.max"
    refused = run_cli("submit", scene, "--dry-run", "--backend", "batch", "--pool", "p",
                      "--storage-url", "https://studioassets.blob.core.windows.net/renders")
    assert refused.returncode == 2 and "Windows" in refused.stderr
    doc = dry_run(run_cli, scene, "--os", "windows", "--frames", "3")
    command = doc["tasks"][0]["commandLine"]
    assert command.startswith("cmd /c ")
    assert "3dsmaxcmdio.exe" in command and "-start:3" in command and "-end:3" in command
    assert "retarget.ms" in command


def test_dry_run_prints_no_secret(run_cli, tmp_path):
    key = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0wMTIzNDU2Nzg5YWJjZGVmZ2hpams="
    conn = f"DefaultEndpointsProtocol=https;AccountName=studioassets;AccountKey={key};EndpointSuffix=core.windows.net"
    demo = SHARED_SCENES / "gltfio_blend" / "33_udim.blend"
    proc = run_cli("submit", demo, "--dry-run", "--json", "--backend", "batch", "--pool", "p", "--frames", "1-3",
                   "--storage-url", "https://studioassets.blob.core.windows.net/renders?sv=2024&sp=rl&sig=SECRETSIG123",
                   env={"AZURE_STORAGE_CONNECTION_STRING": conn})
    assert proc.returncode == 0, proc.stderr
    for secret in (key, "SECRETSIG123"):
        assert secret not in proc.stdout + proc.stderr


def test_blender_scene_without_frames_renders_its_own_frame_range(run_cli):
    from conftest import REPO, require

    demo = REPO / "examples" / "demo" / "demo.blend"
    require(demo.exists(), "the example scene (scripts/setup builds it with Blender)")
    import sys

    sys.path.insert(0, str(REPO / "examples"))
    import build_demo

    doc = dry_run(run_cli, demo)  # no --frames
    assert [t["id"] for t in doc["tasks"]] == [f"frames-{n:04d}" for n in build_demo.FRAMES]


def test_a_job_refused_while_being_built_uploads_nothing(run_cli, maya_cube, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    proc = run_cli("submit", maya_cube, "--backend", "batch", "--batch-url", "https://acct.westeurope.batch.azure.com",
                   "--storage-url", store.as_uri(), "--frames", "1")  # no pool configured
    assert proc.returncode == 2 and "pool" in proc.stderr and "Traceback" not in proc.stderr
    assert not any(store.rglob("*")), "nothing may be uploaded for a job that cannot be submitted"
