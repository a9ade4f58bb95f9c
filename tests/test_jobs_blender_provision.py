"""A pinned Blender on Azure Linux nodes: the pool's start task installs the official build of that
version (checksum verified, cached per version) and every task checks its Blender first. The start
task runs here for real, against a local mirror serving a stand-in build."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import shlex
import subprocess
import sys
import tarfile
import threading

import pytest

from conftest import REPO

PROFILE = """
[profiles.farm]
batch_url = "https://farm.westeurope.batch.azure.com"
storage_url = "https://farmstore.blob.core.windows.net/assets"
pool_id = "blender-453"
blender = "4.5.3"
[profiles.farm.pool]
vm_size = "Standard_D4s_v5"
image = "canonical:ubuntu-24_04-lts:server:latest"
node_agent_sku = "batch.node.ubuntu 24.04"
dedicated_nodes = 1
"""


@pytest.fixture
def farm(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text(PROFILE)
    return {"AZRENDER_CONFIG_DIR": str(config)}


def test_the_pool_installs_the_pinned_blender_and_tasks_run_it_after_checking_it(run_cli, farm):
    scene = REPO / "examples" / "demo" / "demo.blend"  # saved by Debian's Blender 3.4
    proc = run_cli("submit", scene, "--frames", "1", "--dry-run", env=farm)
    assert proc.returncode == 0, proc.stderr
    sent = json.loads(proc.stdout)
    start = sent["pool"]["startTask"]
    assert start["userIdentity"]["autoUser"]["elevationLevel"] == "admin" and start["waitForSuccess"] is True
    assert {"name": "AZRENDER_BLENDER_VERSION", "value": "4.5.3"} in start["environmentSettings"]
    assert "sha256sum -c" in start["commandLine"]
    [task] = sent["tasks"]
    assert "blender-version /opt/azrender/blender/4.5.3/blender 3.4 demo.blend" in task["commandLine"]
    assert "/opt/azrender/blender/4.5.3/blender -b " in task["commandLine"]


def test_a_pool_azrender_creates_installs_the_pinned_xxhash_from_the_store_first(run_cli, farm):
    """Nodes without internet too: the wheels are resource files from the store, checked by the node
    tool against the SHA-256 it carries; the Blender install follows only once that succeeded."""
    from batchspec import assert_valid

    from azrender.node.provide import WHEELS

    proc = run_cli("submit", REPO / "examples" / "demo" / "demo.blend", "--frames", "1", "--dry-run", env=farm)
    assert proc.returncode == 0, proc.stderr
    sent = json.loads(proc.stdout)
    assert_valid(sent)  # the Batch REST specification accepts the pool with its start task
    start = sent["pool"]["startTask"]
    files = {f["filePath"]: f["httpUrl"] for f in start["resourceFiles"]}
    assert set(files) == {"azrender_node.pyz"} | {name for name, _ in WHEELS.values()}
    assert all(url.startswith("https://farmstore.blob.core.windows.net/assets/tools/") for url in files.values())
    assert start["commandLine"].startswith("/bin/bash -c 'python3 -I -S azrender_node.pyz provide --wheels . && ")
    assert "sha256sum -c" in start["commandLine"]


def test_a_scene_newer_than_the_pinned_blender_is_refused_in_one_line(run_cli, farm, tmp_path):
    scene = tmp_path / "new.blend"
    # A Blender 5.0 header (uncompressed): all that decides the version.
    scene.write_bytes(b"BLENDER17-01v0500" + bytes(64))
    proc = run_cli("submit", scene, "--frames", "1", "--dry-run", "--allow-missing", env=farm)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [
        "azrender submit: error: new.blend was saved by Blender 5.0; the pool's pinned Blender is 4.5.3 "
        "and cannot open it (render it with Blender 5.0 or newer)"]


def fake_build(version: str) -> bytes:
    """A stand-in for blender-X.Y.Z-linux-x64.tar.xz: a top folder holding a `blender` that says its version."""
    script = f"#!/bin/sh\necho 'Blender {version}'\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as archive:
        info = tarfile.TarInfo(f"blender-{version}-linux-x64/blender")
        info.size, info.mode = len(script), 0o755
        archive.addfile(info, io.BytesIO(script))
    return buffer.getvalue()


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "mirror"
    (root / "Blender4.5").mkdir(parents=True)
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root / "Blender4.5", f"http://127.0.0.1:{server.server_port}", requests
    server.shutdown()


def run_start_task(tmp_path, base: str, sha256: str | None = None):
    from azrender.jobs.provision import blender_start_task

    task = blender_start_task("4.5.3", sha256)
    env = {**os.environ, **dict(task.environment), "AZRENDER_BLENDER_ROOT": str(tmp_path / "opt"),
           "AZRENDER_BLENDER_MIRROR": base, "AZRENDER_BLENDER_LIBRARIES": "0"}
    return subprocess.run(shlex.split(task.command_line), capture_output=True, text=True, env=env, timeout=120)


def test_the_start_task_verifies_the_download_and_installs_each_version_once(mirror, tmp_path):
    folder, base, requests = mirror
    build = fake_build("4.5.3")
    (folder / "blender-4.5.3-linux-x64.tar.xz").write_bytes(build)
    (folder / "blender-4.5.3.sha256").write_text(
        f"{hashlib.sha256(build).hexdigest()}  blender-4.5.3-linux-x64.tar.xz\n{'0' * 64}  blender-4.5.3-windows-x64.zip\n")

    first = run_start_task(tmp_path, base)
    assert first.returncode == 0, first.stderr
    installed = tmp_path / "opt" / "4.5.3" / "blender"
    assert subprocess.run([installed, "--version"], capture_output=True, text=True).stdout == "Blender 4.5.3\n"
    downloads = len(requests)
    again = run_start_task(tmp_path, base)  # a reboot: the node's cache answers
    assert again.returncode == 0 and "already installed" in again.stdout and len(requests) == downloads


def test_a_download_that_does_not_match_its_checksum_is_not_installed(mirror, tmp_path):
    folder, base, _ = mirror
    (folder / "blender-4.5.3-linux-x64.tar.xz").write_bytes(fake_build("4.5.3"))
    proc = run_start_task(tmp_path, base, sha256="ab" * 32)  # the checksum pinned in the profile
    assert proc.returncode == 1
    assert "blender-4.5.3-linux-x64.tar.xz does not match its SHA-256: not installed" in proc.stderr
    assert not (tmp_path / "opt" / "4.5.3").exists()


# ---- reused pools keep their Blender: recorded in the pool's metadata, read while planning ---------

BATCH_KEY = "QmF0Y2hLZXlUaGF0TXVzdE5ldmVyTGVhazAxMjM0NTY3ODk="


@pytest.fixture
def recorder():
    from batch_recorder import BatchRecorder

    server = BatchRecorder().start()
    yield server
    server.stop()


def recorded_pool(pool_id: str, blender: str | None) -> dict:
    return {"id": pool_id, "vmSize": "Standard_D4s_v5",
            "metadata": [{"name": "azrender.blender", "value": blender}] if blender else []}


def batch_profile(tmp_path, recorder, *, pool: bool, blender: str | None = None) -> dict:
    store = tmp_path / "store"
    store.mkdir(exist_ok=True)
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    text = (f'[profiles.farm]\nbatch_url = "{recorder.url}"\nbatch_auth = "key"\nstorage_url = "{store.as_uri()}"\n'
            'pool_id = "farm"\n' + (f'blender = "{blender}"\n' if blender else ""))
    if pool:
        text += PROFILE.split("[profiles.farm.pool]", 1)[1].join(["[profiles.farm.pool]", ""])
    (config / "config.toml").write_text(text)
    return {"AZRENDER_CONFIG_DIR": str(config), "AZRENDER_BATCH_KEY": BATCH_KEY}


def sent(recorder, method: str, path_end: str) -> list:
    return [r.json for r in recorder.requests if r.method == method and r.path.endswith(path_end)]


def test_a_pool_azrender_creates_records_its_blender_and_a_reused_pool_keeps_it(run_cli, recorder, tmp_path):
    import batchspec

    scene = REPO / "examples" / "demo" / "demo.blend"  # saved by Blender 3.4
    recorder.pools["farm"] = recorded_pool("farm", "4.2.3")  # created earlier, with Blender 4.2.3
    env = batch_profile(tmp_path, recorder, pool=True, blender="4.5.3")

    first = run_cli("submit", scene, "--frames", "1", "--json", env=env)
    assert first.returncode == 0, first.stderr
    [pool] = sent(recorder, "POST", "/pools")  # not farm (it keeps its 4.2.3): a pool for 4.5.3 beside it
    assert pool["id"] == "farm-blender-4-5-3" and pool["metadata"] == [{"name": "azrender.blender", "value": "4.5.3"}]
    assert {"name": "AZRENDER_BLENDER_VERSION", "value": "4.5.3"} in pool["startTask"]["environmentSettings"]
    [job] = sent(recorder, "POST", "/jobs")
    [task] = sent(recorder, "POST", "/addtaskcollection")[0]["value"]
    assert job["poolInfo"]["poolId"] == "farm-blender-4-5-3"
    assert ("blender-version /opt/azrender/blender/4.5.3/blender 3.4 demo.blend --pool farm-blender-4-5-3 "
            "--expect 4.5.3") in task["commandLine"]
    for body, definition in ((pool, "pool"), (job, "job"), (task, "task")):
        assert batchspec.errors(body, batchspec.BODIES[definition]) == [], definition

    recorder.requests.clear()
    again = run_cli("submit", scene, "--frames", "1", "--json", env=env)  # the 4.5.3 pool now exists: reused
    assert again.returncode == 0, again.stderr
    assert sent(recorder, "POST", "/pools") == []
    assert [j["poolInfo"]["poolId"] for j in sent(recorder, "POST", "/jobs")] == ["farm-blender-4-5-3"]

    recorder.requests.clear()
    older = run_cli("submit", scene, "--frames", "1", "--blender", "4.2.3", "--json", env=env)
    assert older.returncode == 0, older.stderr
    assert sent(recorder, "POST", "/pools") == []
    [job] = sent(recorder, "POST", "/jobs")
    [task] = sent(recorder, "POST", "/addtaskcollection")[0]["value"]
    assert job["poolInfo"]["poolId"] == "farm"
    assert "/opt/azrender/blender/4.2.3/blender -b " in task["commandLine"] and "--expect 4.2.3" in task["commandLine"]


def test_an_existing_pool_renders_with_the_blender_it_records(run_cli, recorder, tmp_path):
    scene = REPO / "examples" / "demo" / "demo.blend"
    recorder.pools["farm"] = recorded_pool("farm", "4.5.3")
    env = batch_profile(tmp_path, recorder, pool=False)  # no pinned version: the pool's own Blender
    proc = run_cli("submit", scene, "--frames", "1", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    [task] = sent(recorder, "POST", "/addtaskcollection")[0]["value"]
    assert "/opt/azrender/blender/4.5.3/blender -b " in task["commandLine"]
    assert "--pool farm --expect 4.5.3" in task["commandLine"]


def test_a_pool_with_another_blender_is_refused_in_one_line_naming_both(run_cli, recorder, tmp_path):
    scene = tmp_path / "new.blend"
    scene.write_bytes(b"BLENDER-v405" + bytes(64))  # saved by Blender 4.5
    recorder.pools["farm"] = recorded_pool("farm", "4.2.3")

    env = batch_profile(tmp_path, recorder, pool=False)
    proc = run_cli("submit", scene, "--frames", "1", "--allow-missing", env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "azrender submit: error: new.blend was saved by Blender 4.5; pool farm's Blender is 4.2.3 and cannot open it "
        "(choose a pool of Blender 4.5 or newer (--pool, or pool_id in the profile), or add a [profiles.NAME.pool] "
        "table so azrender creates one)"]

    pinned = run_cli("submit", scene, "--frames", "1", "--allow-missing", "--blender", "4.5.3", env=env)
    assert pinned.returncode == 2
    assert pinned.stderr.strip().splitlines() == [
        "azrender submit: error: pool farm provides Blender 4.2.3, not the pinned Blender 4.5.3 (choose a pool "
        "azrender created with Blender 4.5.3 (--pool, or pool_id in the profile), or add a [profiles.NAME.pool] table "
        "so azrender creates one)"]
    assert {r.method for r in recorder.requests} == {"GET"}, "nothing was created"
    assert not any((tmp_path / "store").rglob("*")), "nothing was uploaded"


def test_the_task_checks_the_nodes_blender_against_the_pools_record_first(tmp_path, blender):
    """The node's Blender is not what the pool records (its image changed, someone installed
    another): the task fails at once, with the line that names both versions."""
    from conftest import cli_env

    other = tmp_path / "blender"
    other.write_text("#!/bin/sh\necho 'Blender 4.2.3'\n")
    other.chmod(0o755)
    check = [sys.executable, "-m", "azrender.node", "blender-version"]
    proc = subprocess.run([*check, str(other), "3.4", "demo.blend", "--pool", "farm", "--expect", "4.5.3"],
                          capture_output=True, text=True, env=cli_env(), timeout=120)
    assert proc.returncode == 3
    assert proc.stderr.strip() == ("azrender: pool farm records Blender 4.5.3, but this node's Blender is 4.2.3: "
                                   "demo.blend was not rendered with another Blender (delete the pool for azrender "
                                   "to create it again, or pin Blender 4.2.3)")
    older = subprocess.run([*check, blender, "4.5", "shot.blend", "--pool", "farm", "--expect", "3.4"],
                           capture_output=True, text=True, env=cli_env(), timeout=120)
    assert older.returncode == 3
    assert older.stderr.strip().startswith("azrender: shot.blend was saved by Blender 4.5; pool farm's Blender is 3.4.1 "
                                           "and cannot open it (pin Blender 4.5 or newer with --blender X.Y.Z")
