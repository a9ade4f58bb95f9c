"""Settings profiles (config.toml) and the status command, run as a user would."""

from __future__ import annotations

import json

import pytest
from azure.core.credentials import AzureNamedKeyCredential

from azrender.backends import batch as backend
from azrender.errors import UsageError
from azrender.jobs.batch_models import to_batch_models
from azrender.jobs.build import build_job
from azrender.jobs.model import NodeAccess
from azrender.settings import load_settings, pool_spec
from batch_recorder import BatchRecorder

KEY = "U3RhdHVzVGVzdEtleU5ldmVyUHJpbnRlZDAxMjM0NTY3ODk="

CONFIG = """
default_profile = "studio"

[profiles.studio]
batch_url = "https://studio.westeurope.batch.azure.com"
storage_url = "https://studiorender.blob.core.windows.net/assets/show1"
pool_id = "blender-linux"
batch_account_id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/studio"

[profiles.studio.pool]
vm_size = "Standard_D16s_v5"
image = "canonical:0001-com-ubuntu-server-jammy:22_04-lts"
node_agent_sku = "batch.node.ubuntu 22.04"
dedicated_nodes = 4
app_packages = ["blender:4.2", "ocio"]

[profiles.laptop]
storage_mode = "blobfuse"
"""


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_profiles_defaults_and_per_call_overrides(tmp_path):
    path = write(tmp_path, CONFIG)
    studio = load_settings(path=path)
    assert studio.profile == "studio" and studio.pool_id == "blender-linux" and studio.has_batch
    assert studio.with_overrides(pool_id="other", batch_url=None).pool_id == "other"
    assert studio.with_overrides(batch_url=None).batch_url == studio.batch_url
    laptop = load_settings("laptop", path=path)
    assert laptop.storage_mode == "blobfuse" and not laptop.has_batch
    pool = pool_spec(studio)
    assert (pool.id, pool.vm_size, pool.image.sku, pool.image.version) == ("blender-linux", "Standard_D16s_v5",
                                                                           "22_04-lts", "latest")
    apps = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/studio/applications"
    assert pool.app_packages == ((f"{apps}/blender", "4.2"), (f"{apps}/ocio", None)) and pool.dedicated_nodes == 4
    assert load_settings(path=tmp_path / "absent.toml").has_batch is False


@pytest.mark.parametrize("text, message", [
    ('[profiles.a]\nbatch_url = "x\n', r"config.toml: malformed TOML: .*line 2"),
    ('[profiles.a]\n\npool_idd = "p"\n', r"config.toml, line 3: unknown setting 'pool_idd'"),
    ('[profiles.a]\nretries = "three"\n', r"config.toml, line 2: retries .* wrong type"),
    ('pool_id = "p"\n', r"config.toml, line 1: unknown top-level setting 'pool_id'"),
    ('[profiles.a]\n[profiles.a.pool]\nvm_size = "v"\n', r"needs image, node_agent_sku"),
])
def test_malformed_config_names_the_file_and_line(tmp_path, text, message):
    with pytest.raises(UsageError, match=message):
        load_settings(path=write(tmp_path, text))


def test_unknown_profile_is_named(tmp_path):
    with pytest.raises(UsageError, match="no profile 'nope'.*") as info:
        load_settings("nope", path=write(tmp_path, CONFIG))
    assert "laptop, studio" in str(info.value)


@pytest.fixture
def recorder():
    server = BatchRecorder(pools={"pool1": {"id": "pool1"}}).start()
    yield server
    server.stop()


def test_status_command_against_the_service(run_cli, tmp_path, recorder):
    client = backend.make_client(recorder.url, AzureNamedKeyCredential("acct", KEY))
    access = NodeAccess("https://a.blob.core.windows.net/assets?sv=1&sig=xyzxyzxyz", "https://a.blob.core.windows.net/renders")
    backend.submit_batch(client, to_batch_models(build_job(
        job_id="shot010", host="blender", scene="s.blend", frames="1-3", chunk=1, manifest_key="m",
        access=access, tool_key="t", pool_id="pool1")))
    tasks = recorder.tasks["shot010"]
    tasks["frames-0001"].update(state="completed", executionInfo={"exitCode": 0, "retryCount": 0, "requeueCount": 0})
    tasks["frames-0002"].update(state="completed", executionInfo={"exitCode": 139, "retryCount": 2, "requeueCount": 0})
    recorder.files[("shot010", "frames-0002", "stderr.txt")] = b"Fra:2 Mem:1.2G\nSegmentation fault\n"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text('[profiles.p]\nbatch_auth = "key"\nbatch_account = "acct"\n')
    env = {"AZRENDER_BATCH_KEY": KEY}

    proc = run_cli("status", "shot010", "--batch-url", recorder.url, env=env)
    assert proc.returncode == 1, proc.stderr
    assert "shot010 (batch): active; 3 tasks: 2 completed, 0 running, 1 waiting, 1 failed" in proc.stdout
    assert "frames-0002 failed (exit code 139, 2 retries)" in proc.stdout and "| Segmentation fault" in proc.stdout

    doc = json.loads(run_cli("status", "shot010", "--batch-url", recorder.url, "--json", env=env).stdout)
    assert doc["counts"]["completed"] == 2 and doc["failed"][0]["id"] == "frames-0002"

    proc = run_cli("status", "nosuchjob", "--batch-url", recorder.url, env=env)
    assert proc.returncode == 5 and proc.stderr.strip() == "azrender status: error: no job nosuchjob in this Batch account"
    assert KEY not in proc.stdout + proc.stderr

    (tmp_path / "config" / "config.toml").write_text('[profiles.p]\nbatch_auth = "key"\nbogus = 1\n')
    proc = run_cli("status", "shot010", env=env)
    assert proc.returncode == 2 and "config.toml, line 3: unknown setting 'bogus'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_status_names_batch_failures_that_have_no_exit_code(tmp_path, recorder):
    client = backend.make_client(recorder.url, AzureNamedKeyCredential("acct", KEY))
    access = NodeAccess("https://a.blob.core.windows.net/assets?sv=1&sig=xyzxyzxyz", "https://a.blob.core.windows.net/renders")
    backend.submit_batch(client, to_batch_models(build_job(
        job_id="j", host="blender", scene="s.blend", frames="1", chunk=1, manifest_key="m", access=access,
        tool_key="t", pool_id="pool1")))
    recorder.tasks["j"]["frames-0001"].update(state="completed", executionInfo={
        "retryCount": 0, "requeueCount": 0, "result": "failure",
        "failureInfo": {"category": "usererror", "code": "ResourceContainerAccessDenied", "message": "SAS expired"}})
    [failed] = backend.batch_status(client, "j").failed
    assert failed.exit_code is None and failed.failure == "ResourceContainerAccessDenied: SAS expired"


def test_status_of_an_unknown_local_job_is_one_clear_line(run_cli, tmp_path):
    proc = run_cli("status", "nosuchjob", "--backend", "local", env={"AZRENDER_STATE_DIR": str(tmp_path / "state")})
    assert proc.returncode == 5 and "nosuchjob" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.azurite
def test_download_is_incremental_and_brings_logs_on_request(run_cli, tmp_path, azurite, container):
    client = azurite.blob_service().get_container_client(container)
    frames = {f"jobs/shot010/outputs/frame_000{n}.png": f"png{n}".encode() for n in (1, 2)}
    logs = {"jobs/shot010/logs/frames-0001/stderr.txt": b"warning: x\n"}
    for key, data in {**frames, **logs}.items():
        client.upload_blob(f"renders/{key}", data)
    url = azurite.container_url(container, "renders")
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    dest = tmp_path / "frames"

    proc = run_cli("download", "shot010", "--dest", dest, "--storage-url", url, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["downloaded"] == 2
    assert (dest / "frame_0002.png").read_bytes() == b"png2"
    assert not (dest / "logs").exists()

    proc = run_cli("download", "shot010", "--dest", dest, "--storage-url", url, "--json", "--logs", env=env)
    summary = json.loads(proc.stdout)
    assert summary["downloaded"] == 1 and summary["skipped"] == 2
    assert (dest / "logs" / "frames-0001" / "stderr.txt").read_bytes() == b"warning: x\n"

    proc = run_cli("download", "../etc", "--dest", dest, "--storage-url", url, env=env)
    assert proc.returncode == 2 and "invalid job id" in proc.stderr
