"""Studio storage: a scene whose texture lives under a configured studio root renders with that
texture never uploaded: the node reads it through the pool's mount (on the local backend, a folder
the profile names), and the pre-render check stops a task whose studio file is not there."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from batchspec import assert_valid
from conftest import run_blender
from test_paths_blender import BUILD_SCENE, shows_red_and_green

pytestmark = pytest.mark.blender


@pytest.fixture
def studio(blender, tmp_path):
    """The artist's scene: red.png in the project, green.png on the studio's storage (/studio/projects
    as the workstation mounts it); the NAS export the nodes mount holds the same tree."""
    scene = tmp_path / "artist" / "proj" / "shot.blend"
    inside = tmp_path / "artist" / "proj" / "tex" / "red.png"
    on_nas = tmp_path / "studio" / "projects" / "lib" / "green.png"
    scene.parent.mkdir(parents=True)
    on_nas.parent.mkdir(parents=True)
    run_blender(blender, "--python", str(BUILD_SCENE), "--", str(scene), str(inside), str(on_nas))
    export = tmp_path / "nas-export"
    shutil.copytree(tmp_path / "studio" / "projects", export)
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text(f"""
[profiles.studio]
[[profiles.studio.roots]]
path = "{tmp_path / 'studio' / 'projects'}"
mount = "projects"
folder = "{export}"
""")
    return scene, export


def test_texture_under_a_studio_root_renders_without_being_uploaded(run_cli, studio, tmp_path):
    scene, export = studio
    out = tmp_path / "frames"
    proc = run_cli("submit", scene, "--frames", "1", "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    job = json.loads(proc.stdout)["job_id"]
    # the workstation's view of the studio storage goes away: the node must read the mount
    (tmp_path / "studio").rename(tmp_path / "studio-offline")
    deadline = time.time() + 300
    while time.time() < deadline:
        status = json.loads(run_cli("status", job, "--json").stdout)
        if status["done"]:
            break
        time.sleep(1)
    assert status["done"] and not status["failed"], status
    assert run_cli("download", job, "--dest", out).returncode == 0
    assert shows_red_and_green(out / "frame_0001.png")
    (tmp_path / "studio-offline").rename(tmp_path / "studio")
    import xxhash

    stored = {p.name for p in (tmp_path / "state" / "store" / "content").rglob("*") if p.is_file()}
    red, green = (xxhash.xxh3_128_hexdigest(p.read_bytes()) for p in
                  (scene.parent / "tex" / "red.png", export / "lib" / "green.png"))
    assert red in stored and green not in stored, "the studio texture was uploaded"

    # the node checks the studio file before rendering: gone from the mount, the task fails saying so
    (export / "lib" / "green.png").unlink()
    failed = run_cli("submit", scene, "--frames", "2", "--wait", "--download", out, "--json", timeout=600)
    assert failed.returncode == 1, failed.stderr
    [task] = json.loads(failed.stdout)["status"]["failed"]
    assert "projects/lib/green.png" in task["stderr_tail"], task


def test_batch_pool_mounts_what_serves_the_studio_root(run_cli, studio, tmp_path):
    scene, _ = studio
    pool = """
[profiles.studio.pool]
vm_size = "Standard_D4s_v5"
image = "canonical:0001-com-ubuntu-server-jammy:22_04-lts"
node_agent_sku = "batch.node.ubuntu 22.04"
dedicated_nodes = 2
"""
    config = tmp_path / "config" / "config.toml"
    base = config.read_text().replace("[profiles.studio]\n", """[profiles.studio]
batch_url = "https://studio.westeurope.batch.azure.com"
storage_url = "https://studiorender.blob.core.windows.net/renders/show1"
pool_id = "studio-nfs"
""")
    config.write_text(base + pool)
    refused = run_cli("submit", scene, "--dry-run", "--json", "--backend", "batch", "--frames", "1")
    assert refused.returncode == 2 and "mount 'projects'" in refused.stderr, refused.stderr
    config.write_text(base + pool + """
[[profiles.studio.pool.mounts]]
type = "nfs"
source = "nas.studio.lan:/export/projects"
path = "projects"
""")
    proc = run_cli("submit", scene, "--dry-run", "--json", "--backend", "batch", "--frames", "1")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert_valid(doc)
    assert doc["pool"]["mountConfiguration"] == [{"nfsMountConfiguration": {
        "source": "nas.studio.lan:/export/projects", "relativeMountPath": "projects",
        "mountOptions": "-o vers=4.1,hard,timeo=600,retrans=2"}}]


@pytest.mark.parametrize("root, local, node_os, mount, expected", [
    ("P:\\projects", "p:\\Projects\\show\\tex\\wood.png", "linux", "projects",
     "$AZ_BATCH_NODE_MOUNTS_DIR/projects/show/tex/wood.png"),
    ("\\\\nas\\lib", "\\\\NAS\\lib\\hdri\\sky.exr", "windows", "lib", "%AZ_BATCH_NODE_MOUNTS_DIR%\\lib\\hdri\\sky.exr"),
    ("/mnt/projects", "/mnt/projects/show/a.png", "windows", "P:", "P:\\show\\a.png"),
    ("/mnt/projects", "/mnt/projects/show/a.png", "linux", "nfs/projects", "$AZ_BATCH_NODE_MOUNTS_DIR/nfs/projects/show/a.png"),
])
def test_studio_paths_map_to_the_mount_on_either_node_os(root, local, node_os, mount, expected):
    from azrender.paths.model import map_local
    from azrender.paths.studio import check_tables, studio_rules

    rules = studio_rules(check_tables([{"path": root, "mount": mount}], where="test"), node_os)
    rule, node_path = map_local(local, rules)
    assert node_path == expected and rule.alias is None  # alias None: never uploaded


@pytest.mark.parametrize("table, says", [
    ({"path": "/mnt/p"}, "needs path and mount"),
    ({"path": "/mnt/p", "mount": "/abs"}, "relativeMountPath"),
    ({"path": "/mnt/p", "mount": "../up"}, "relativeMountPath"),
    ({"path": "/mnt/p", "mount": "p", "drive": "Q:"}, "unknown root setting 'drive'"),
])
def test_bad_studio_roots_are_one_clear_line(table, says):
    from azrender.errors import UsageError
    from azrender.paths.studio import check_tables

    with pytest.raises(UsageError, match=says):
        check_tables([table], where="config.toml: [[profiles.s.roots]]")
