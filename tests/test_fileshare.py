"""``--storage fileshare`` end to end: the scene synced into a real SMB 3 share (Samba, encryption
required), rendered by real Blender on the local backend whose pool mounts that share's own folder,
frames checked pixel by pixel; and the Batch side as dry runs: a pool azrender creates with each
mount type, every body valid against the Batch REST specification."""

from __future__ import annotations

import json
import re

import pytest

from batchspec import assert_valid
from test_hosts_blender import addon_blender, results, wait_done  # noqa: F401  (the add-on in real Blender)
from test_main_job import assert_frame_shows_textures, demo  # noqa: F401  (the example scene, built by Blender)

AZ_KEY = "QXp1cmVGaWxlc0tleUZvclRlc3RzT25seS0wMTIzNDU2Nzg5"  # a made-up key: must never be printed


def write_config(tmp_path, text: str) -> None:
    folder = tmp_path / "config"
    folder.mkdir(exist_ok=True)
    (folder / "config.toml").write_text(text, encoding="utf-8")


@pytest.mark.blender
@pytest.mark.slow
def test_demo_renders_in_fileshare_mode_from_a_real_smb_share(run_cli, demo, tmp_path, samba, smb_prefix):  # noqa: F811
    write_config(tmp_path, f"""
[profiles.share]
storage_url = "{samba.url(smb_prefix)}"
storage_mode = "fileshare"
share_folder = "{samba.folder}"
""")
    out = tmp_path / "frames"
    proc = run_cli("submit", demo / "demo.blend", "--frames", "1-2", "--storage", "fileshare", "--wait",
                   "--download", out, "--json", env=samba.env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["sync"]["uploaded"] > 0
    for n in (1, 2):
        assert_frame_shows_textures(out / "render" / f"frame_{n:04d}.png", n)
    # the assets went into the share (its own folder on disk), not into the local store
    assert list((samba.folder / smb_prefix / "content").rglob("*")), "no content in the share"
    assert not (tmp_path / "state" / "store" / "content").exists()
    assert samba.password not in proc.stdout + proc.stderr
    # frames went where Batch can write them (the local store here, Blob storage on Azure), not the share
    fetched = run_cli("download", result["job_id"], "--dest", tmp_path / "again", "--json", env=samba.env)
    assert fetched.returncode == 0, fetched.stderr
    assert_frame_shows_textures(tmp_path / "again" / "render" / "frame_0002.png", 2)

    again = run_cli("submit", demo / "demo.blend", "--frames", "3", "--storage", "fileshare", "--wait",
                    "--download", out, "--json", env=samba.env, timeout=600)
    assert again.returncode == 0, again.stderr
    synced = json.loads(again.stdout)["sync"]
    # only changed files go to the share: no asset, just the new frames' list of expected outputs
    assert synced["uploaded"] == 1 and synced["bytes_uploaded"] < 4096, synced
    assert_frame_shows_textures(out / "render" / "frame_0003.png", 3)


POOL = """
[profiles.p.pool]
vm_size = "Standard_D4s_v5"
image = "{image}"
node_agent_sku = "{sku}"
dedicated_nodes = 2
"""
LINUX = {"image": "canonical:0001-com-ubuntu-server-jammy:22_04-lts", "sku": "batch.node.ubuntu 22.04"}
WINDOWS = {"image": "microsoftwindowsserver:windowsserver:2022-datacenter", "sku": "batch.node.windows amd64"}


def dry_run(run_cli, scene, tmp_path, profile: str, *args, env=None):
    write_config(tmp_path, profile)
    proc = run_cli("submit", scene, "--dry-run", "--json", "--backend", "batch", "--frames", "1-2", *args,
                   env={"AZURE_STORAGE_KEY": AZ_KEY, "AZRENDER_SMB_PASSWORD": "Nas-Passw0rd-123", **(env or {})})
    assert proc.returncode == 0, proc.stderr
    assert AZ_KEY not in proc.stdout + proc.stderr and "Nas-Passw0rd-123" not in proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert_valid(doc)
    return doc


@pytest.mark.parametrize("node_os", ["linux", "windows"])
def test_fileshare_on_azure_files_creates_a_pool_that_mounts_the_share(run_cli, demo, tmp_path, node_os):  # noqa: F811
    os_values = LINUX if node_os == "linux" else WINDOWS
    doc = dry_run(run_cli, demo / "demo.blend", tmp_path, f"""
[profiles.p]
batch_url = "https://studio.westeurope.batch.azure.com"
storage_url = "https://studiorender.file.core.windows.net/render/show1"
outputs_url = "https://studiorender.blob.core.windows.net/renders"
storage_mode = "fileshare"
node_os = "{node_os}"
pool_id = "render-{node_os}"
""" + POOL.format(**os_values), "--storage", "fileshare", "--os", node_os)
    [mount] = doc["pool"]["mountConfiguration"]
    share = mount["azureFileShareConfiguration"]
    assert share["azureFileUrl"] == "https://studiorender.file.core.windows.net/render"
    assert share["accountName"] == "studiorender" and share["accountKey"] == "***"
    assert share["mountOptions"] == ("/persistent:Yes" if node_os == "windows" else
                                     "-o vers=3.0,dir_mode=0777,file_mode=0777,serverino,mfsymlinks,actimeo=30")
    prep = doc["job"]["jobPreparationTask"]
    assert "resourceFiles" not in prep  # everything the node needs is on the mount
    mounted = "%AZ_BATCH_NODE_MOUNTS_DIR%\\azrender\\show1" if node_os == "windows" else "${AZ_BATCH_NODE_MOUNTS_DIR}/azrender/show1"
    assert mounted + ("\\tools\\" if node_os == "windows" else "/tools/") in prep["commandLine"]
    assert re.search('--content-dir "?' + re.escape(mounted), prep["commandLine"])  # the view links into the share
    view = "%AZ_BATCH_JOB_PREP_WORKING_DIR%\\view\\assets\\" if node_os == "windows" else "/view/assets/"
    assert all(view in t["commandLine"] for t in doc["tasks"])
    for task in doc["tasks"]:
        [frames, logs] = task["outputFiles"]
        assert frames["destination"]["container"]["containerUrl"].startswith("https://studiorender.blob.core.windows.net/renders")
        assert (frames["uploadOptions"]["uploadCondition"], logs["uploadOptions"]["uploadCondition"]) == (
            "tasksuccess", "taskcompletion")


def test_every_mount_type_a_profile_can_ask_for_is_a_valid_pool(run_cli, demo, tmp_path):  # noqa: F811
    doc = dry_run(run_cli, demo / "demo.blend", tmp_path, """
[profiles.p]
batch_url = "https://studio.westeurope.batch.azure.com"
storage_url = "https://studiorender.blob.core.windows.net/renders/show1"
pool_id = "render-mounts"
""" + POOL.format(**LINUX) + """
[[profiles.p.pool.mounts]]
type = "azurefiles"
source = "https://studiorender.file.core.windows.net/library"
path = "library"

[[profiles.p.pool.mounts]]
type = "nfs"
source = "cache.studio.lan:/projects"
path = "projects"

[[profiles.p.pool.mounts]]
type = "cifs"
source = "//nas.studio.lan/lib"
path = "nas-lib"
user = "render"

[[profiles.p.pool.mounts]]
type = "blobfuse"
source = "https://studiorender.blob.core.windows.net/caches"
path = "caches"
""")
    mounts = doc["pool"]["mountConfiguration"]
    kinds = [next(iter(m)) for m in mounts]
    assert kinds == ["azureFileShareConfiguration", "nfsMountConfiguration", "cifsMountConfiguration",
                     "azureBlobFileSystemConfiguration"]
    assert mounts[1]["nfsMountConfiguration"] == {"source": "cache.studio.lan:/projects", "relativeMountPath": "projects",
                                                  "mountOptions": "-o vers=4.1,hard,timeo=600,retrans=2"}
    cifs = mounts[2]["cifsMountConfiguration"]
    assert (cifs["source"], cifs["username"], cifs["password"]) == ("//nas.studio.lan/lib", "render", "***")
    assert "seal" in cifs["mountOptions"]  # SMB encryption asked for


def test_windows_images_without_mounts_map_the_share_before_each_task(run_cli, demo, tmp_path):  # noqa: F811
    doc = dry_run(run_cli, demo / "demo.blend", tmp_path, """
[profiles.p]
batch_url = "https://studio.westeurope.batch.azure.com"
storage_url = "https://studiorender.file.core.windows.net/render/show1"
outputs_url = "https://studiorender.blob.core.windows.net/renders"
storage_mode = "fileshare"
node_os = "windows"
pool_id = "legacy-win"
share = "S:"
""" + POOL.format(**WINDOWS) + """
[[profiles.p.pool.mounts]]
type = "netuse"
source = "\\\\\\\\studiorender.file.core.windows.net\\\\render"
path = "S:"
""", "--storage", "fileshare", "--os", "windows")
    assert "mountConfiguration" not in doc["pool"]
    net_use = "net use S: \\\\studiorender.file.core.windows.net\\render"
    assert net_use in doc["job"]["jobPreparationTask"]["commandLine"]
    assert "--content-dir S:\\show1" in doc["job"]["jobPreparationTask"]["commandLine"]
    for task in doc["tasks"]:
        assert net_use in task["commandLine"]
        # the tasks run as the pool's auto-user, like the start task that stored the credentials
        assert task["userIdentity"]["autoUser"]["scope"] == "pool"


def test_share_on_the_command_line(run_cli, demo, tmp_path):  # noqa: F811
    doc = dry_run(run_cli, demo / "demo.blend", tmp_path, """
[profiles.p]
batch_url = "https://studio.westeurope.batch.azure.com"
storage_url = "https://studiorender.file.core.windows.net/render/show1"
outputs_url = "https://studiorender.blob.core.windows.net/renders"
pool_id = "existing-win"
""", "--storage", "fileshare", "--os", "windows", "--share", "\\\\studiorender.file.core.windows.net\\render")
    prep = doc["job"]["jobPreparationTask"]["commandLine"]
    assert "--content-dir \\\\studiorender.file.core.windows.net\\render\\show1" in prep, prep


def test_application_packages_are_full_resource_ids(run_cli, demo, tmp_path):  # noqa: F811
    account = "/subscriptions/0000/resourceGroups/render/providers/Microsoft.Batch/batchAccounts/studio"
    doc = dry_run(run_cli, demo / "demo.blend", tmp_path, f"""
[profiles.p]
batch_url = "https://studio.westeurope.batch.azure.com"
batch_account_id = "{account}"
storage_url = "https://studiorender.blob.core.windows.net/renders/show1"
pool_id = "apps"
""" + POOL.format(**LINUX) + """app_packages = ["blender:4.2.3", "ocio"]
""")
    assert doc["pool"]["applicationPackageReferences"] == [
        {"applicationId": f"{account}/applications/blender", "version": "4.2.3"},
        {"applicationId": f"{account}/applications/ocio"}]
    write_config(tmp_path, """
[profiles.p]
batch_url = "https://studio.westeurope.batch.azure.com"
storage_url = "https://studiorender.blob.core.windows.net/renders/show1"
pool_id = "apps"
""" + POOL.format(**LINUX) + """app_packages = ["blender:4.2.3"]
""")
    refused = run_cli("submit", demo / "demo.blend", "--dry-run", "--backend", "batch")
    assert refused.returncode == 2 and "batch_account_id" in refused.stderr, refused.stderr


def test_scale_advice_numbers():
    from azrender.jobs.scale import share_advice, targets

    standard, premium = targets("standard"), targets("premium", 10_240)
    assert (standard.share_mib_s, standard.file_mib_s) == (300, 60)
    assert premium.share_mib_s == 100 + 410 + 615  # 100 + 0.04 x GiB + 0.06 x GiB MiB/s
    assert share_advice(nodes=10, asset_bytes=100 * 2**20, largest_file=50 * 2**20, share=standard) == []
    [share, per_file] = share_advice(nodes=200, asset_bytes=2 * 10**9, largest_file=10**9, share=standard)
    assert "200 nodes each reading 2.00 GB from a standard Azure Files share (300 MiB/s)" in share
    assert "about 21 min" in share and "premium" in share  # 400 GB at 300 MiB/s
    assert "1.00 GB" in per_file and "60 MiB/s per file" in per_file and "53 min" in per_file
    assert share_advice(nodes=200, asset_bytes=2 * 10**9, largest_file=10**7, share=premium) == []  # 1,125 MiB/s: 6 min
    [more] = share_advice(nodes=1000, asset_bytes=2 * 10**9, largest_file=10**7, share=premium)
    assert "1000 nodes" in more and "(1125 MiB/s)" in more and "about 28 min" in more and "larger premium share" in more


def test_fileshare_dry_run_warns_when_the_share_cannot_feed_the_pool(run_cli, demo, tmp_path):  # noqa: F811
    import shutil

    scene = tmp_path / "shot"
    shutil.copytree(demo, scene)
    big = next(scene.rglob("*.png"))
    with open(big, "r+b") as f:  # sparse: a 2 GB texture without writing 2 GB
        f.truncate(2 * 10**9)
    write_config(tmp_path, """
[profiles.p]
batch_url = "https://studio.westeurope.batch.azure.com"
storage_url = "https://studiorender.file.core.windows.net/render/show1"
outputs_url = "https://studiorender.blob.core.windows.net/renders"
pool_id = "big"
""" + POOL.format(**LINUX).replace("dedicated_nodes = 2", "dedicated_nodes = 100"))
    proc = run_cli("submit", scene / "demo.blend", "--dry-run", "--backend", "batch", "--storage", "fileshare",
                   "--frames", "1", env={"AZURE_STORAGE_KEY": AZ_KEY})
    assert proc.returncode == 0, proc.stderr
    assert "warning: 100 nodes each reading 2.00 GB from a standard Azure Files share (300 MiB/s)" in proc.stderr
    assert "60 MiB/s per file" in proc.stderr


@pytest.mark.blender
@pytest.mark.slow
def test_render_on_azure_from_the_blender_panel_in_fileshare_mode(addon_blender, demo, run_cli, tmp_path,  # noqa: F811
                                                                   samba, smb_prefix):
    """The artist's path: the add-on's panel, storage "Azure Files", a profile whose store is the share."""
    import shutil

    shot = tmp_path / "artist" / "demo.blend"
    shutil.copytree(demo, shot.parent)
    write_config(tmp_path, f"""
[profiles.share]
storage_url = "{samba.url(smb_prefix)}"
share_folder = "{samba.folder}"
""")
    submitted = results(addon_blender(str(shot), env=samba.env, script="""
        import json, bpy
        s = bpy.context.scene.azrender
        s.backend, s.storage_mode, s.use_scene_frames, s.frames = "LOCAL", "FILESHARE", False, "4"
        outcome = sorted(bpy.ops.azrender.submit())
        print("RESULT " + json.dumps({"outcome": outcome, "jobs": [j.job_id for j in s.jobs]}))
    """))
    assert submitted["outcome"] == ["FINISHED"], submitted
    [job_id] = submitted["jobs"]
    status = wait_done(run_cli, job_id, {})
    assert status["failed"] == [], status
    assert run_cli("download", job_id, "--dest", tmp_path / "frames", env=samba.env).returncode == 0
    assert_frame_shows_textures(tmp_path / "frames" / "render" / "frame_0004.png", 4)
    assert list((samba.folder / smb_prefix / "content").rglob("*")), "the assets went to the share"
