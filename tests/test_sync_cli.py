"""``azrender sync`` / ``azrender fetch`` as a user runs them: new processes, real Azurite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import xxhash

from azrender.sync.content import content_key
from conftest import AZURITE_KEY, cli_env, free_port

pytestmark = pytest.mark.azurite


def test_sync_then_fetch_json_and_no_change(tmp_path, run_cli, azurite, container):
    (tmp_path / "shots" / "tex").mkdir(parents=True)
    (tmp_path / "shots" / "a.blend").write_bytes(b"blend" * 1000)
    (tmp_path / "shots" / "tex" / "b.png").write_bytes(b"png" * 10)
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    url = azurite.container_url(container, "assets")

    first = run_cli("sync", tmp_path / "shots", "--to", url, "--json", env=env)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert set(out) == {"files", "uploaded", "skipped", "bytes_uploaded", "seconds"}
    assert (out["files"], out["uploaded"], out["skipped"], out["bytes_uploaded"]) == (2, 2, 0, 5030)

    again = json.loads(run_cli("sync", tmp_path / "shots", "--to", url, "--json", env=env).stdout)
    assert (again["uploaded"], again["skipped"], again["bytes_uploaded"]) == (0, 2, 0)

    fetched = run_cli("fetch", url, "--dest", tmp_path / "back", "--json", env=env)
    assert fetched.returncode == 0, fetched.stderr
    got = json.loads(fetched.stdout)
    assert set(got) == {"files", "downloaded", "skipped", "bytes_downloaded", "seconds"}
    assert (tmp_path / "back" / "shots" / "tex" / "b.png").read_bytes() == b"png" * 10
    assert json.loads(run_cli("fetch", url, "--dest", tmp_path / "back", "--json", env=env).stdout)["downloaded"] == 0


def test_a_folder_gets_a_manifest_and_single_files_join_theirs(tmp_path, run_cli):
    from azrender.sync.content import content_key
    from azrender.sync.manifest import Manifest

    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "a.txt").write_text("a")
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "b.txt").write_text("b")
    (tmp_path / "loose" / "c.txt").write_text("c")
    store = tmp_path / "store"
    assert run_cli("sync", tmp_path / "proj", tmp_path / "loose" / "b.txt", "--to", store.as_uri()).returncode == 0
    manifest = Manifest.from_bytes((store / "proj.manifest.json").read_bytes())
    assert [(e.key, e.size, e.hash) for e in manifest.entries] == [("a.txt", 1, xxhash.xxh3_128_hexdigest(b"a"))]
    assert (store / content_key(xxhash.xxh3_128_hexdigest(b"a"))).read_text() == "a"
    # a file given alone is added to its folder's manifest; the folder's other stored files stay listed
    assert run_cli("sync", tmp_path / "loose" / "c.txt", "--to", store.as_uri()).returncode == 0
    loose = Manifest.from_bytes((store / "loose.manifest.json").read_bytes())
    assert [e.key for e in loose.entries] == ["b.txt", "c.txt"]
    assert (store / content_key(xxhash.xxh3_128_hexdigest(b"b"))).read_text() == "b"


def test_dry_run_lists_without_uploading(tmp_path, run_cli):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "a.txt").write_text("a")
    store = (tmp_path / "store").as_uri()
    proc = run_cli("sync", tmp_path / "proj", "--to", store, "--dry-run")
    assert proc.returncode == 0 and "upload proj/a.txt" in proc.stdout
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("args,message", [
    (["missing-folder"], "missing-folder: no such file or folder"),
    (["a/x", "b/x"], "would both be stored under x/"),
])
def test_bad_paths_are_one_clear_line(tmp_path, run_cli, args, message):
    for folder in ("a/x", "b/x"):
        (tmp_path / folder).mkdir(parents=True)
    proc = run_cli("sync", *args, "--to", (tmp_path / "store").as_uri())
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def uncommitted_blocks(blob) -> int:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return len(blob.get_block_list("uncommitted")[1])
    except ResourceNotFoundError:
        return 0


@pytest.mark.slow
def test_killed_mid_upload_leaves_the_old_blob_then_resumes(tmp_path, run_cli, azurite, container):
    size = 160 * 1024 * 1024
    big = tmp_path / "caches" / "sim.vdb"
    big.parent.mkdir()
    big.write_bytes(b"old version")
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    url = azurite.container_url(container)
    assert run_cli("sync", big.parent, "--to", url, env=env).returncode == 0
    new = os.urandom(1 << 20) * (size >> 20)
    big.write_bytes(new)

    blob = azurite.blob_service().get_blob_client(container, content_key(xxhash.xxh3_128_hexdigest(new)))
    head = azurite.blob_service().get_blob_client(container, "caches.manifest.json")
    old = head.download_blob().readall()
    proc = subprocess.Popen([sys.executable, "-m", "azrender", "sync", str(big.parent), "--to", url],
                            env=cli_env(AZRENDER_CACHE_DIR=str(tmp_path / "cache"), **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while uncommitted_blocks(blob) < 3 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the upload finished before it could be interrupted"
    assert not blob.exists() and head.download_blob().readall() == old  # nothing half-written looks complete

    rerun = run_cli("sync", big.parent, "--to", url, "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr
    out = json.loads(rerun.stdout)
    assert out["uploaded"] == 1 and out["bytes_uploaded"] < size  # staged blocks were reused
    assert blob.get_blob_properties().metadata["azrender_xxh3"] == xxhash.xxh3_128_hexdigest(new)
    assert blob.download_blob().readall() == new
    assert xxhash.xxh3_128_hexdigest(new).encode() in head.download_blob().readall()


def test_fetch_refuses_hostile_blob_names(tmp_path, run_cli, azurite, container):
    service = azurite.blob_service().get_container_client(container)
    # Azurite turns backslashes into '/', so the first really is stored as out/../../evil1
    for name in ("out\\..\\..\\evil1", "/abs/evil2", "out/C:evil3", "out//evil4", "out/ok.png"):
        service.upload_blob(name, b"payload", overwrite=True)
    dest = tmp_path / "deep" / "dest"
    proc = run_cli("fetch", azurite.container_url(container), "--dest", dest,
                   env={"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string})
    assert proc.returncode == 4, proc.stderr
    assert "refused 4" in proc.stderr and "Traceback" not in proc.stderr
    assert (dest / "out" / "ok.png").read_bytes() == b"payload"
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if "evil" in p.name)
    assert written == []


def test_fetch_refuses_a_backslash_name_from_a_folder_store(tmp_path, run_cli):
    (tmp_path / "store" / "out").mkdir(parents=True)
    (tmp_path / "store" / "out" / "..\\..\\evil").write_bytes(b"x")
    (tmp_path / "store" / "out" / "ok.txt").write_bytes(b"ok")
    proc = run_cli("fetch", (tmp_path / "store").as_uri(), "--dest", tmp_path / "d")
    assert proc.returncode == 4 and "contains a backslash" in proc.stderr
    assert (tmp_path / "d" / "out" / "ok.txt").read_bytes() == b"ok"
    assert [p.name for p in (tmp_path / "d" / "out").iterdir()] == ["ok.txt"]


@pytest.mark.parametrize("credential", ["connection-string", "sas"])
def test_unreachable_storage_is_a_clear_error_without_secrets(tmp_path, run_cli, credential):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "a.txt").write_text("a")
    url = f"http://127.0.0.1:{free_port()}/devstoreaccount1/box/prefix"
    env = {"AZRENDER_STORE_RETRIES": "1"}
    secret = AZURITE_KEY
    if credential == "connection-string":
        env["AZURE_STORAGE_CONNECTION_STRING"] = f"AccountName=devstoreaccount1;AccountKey={AZURITE_KEY}"
    else:
        from datetime import datetime, timedelta, timezone

        from azure.storage.blob import generate_container_sas

        secret = generate_container_sas("devstoreaccount1", "box", account_key=AZURITE_KEY, permission="racwl",
                                        expiry=datetime.now(timezone.utc) + timedelta(hours=1))
        url += "?" + secret
    proc = run_cli("-vv", "sync", tmp_path / "proj", "--to", url, env=env)
    assert proc.returncode == 4
    assert "cannot reach http://127.0.0.1" in proc.stderr and "Traceback" not in proc.stderr
    signature = secret.split("sig=")[-1].split("&")[0]
    assert secret not in proc.stdout + proc.stderr and signature not in proc.stdout + proc.stderr


def test_fetch_from_a_mistyped_store_folder_is_an_error_not_zero_files(run_cli, tmp_path):
    proc = run_cli("fetch", (tmp_path / "no-such-store").as_uri(), "--dest", tmp_path / "out")
    assert proc.returncode == 4 and "no such store folder" in proc.stderr
    assert not (tmp_path / "out").exists()
