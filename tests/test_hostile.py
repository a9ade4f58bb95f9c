"""Hostile and careless use: no workstation secret reaches the store, nothing hangs, every failure
says why in one line.

Each test reproduces what a careless or hostile user did to an earlier build (a scene naming
``/proc/self/environ``, a Latin-1 file name from an old NAS, a mistyped job id...) and asserts what
the user sees: the lines printed, the exit code, and the bytes that did (not) reach the store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from test_hosts_blender import addon_blender  # noqa: F401  (Blender with the add-on installed as an artist's)

SECRET = "AZRENDER-HOSTILE-TEST-SECRET-5f1c"


FAKE_MAYA_RENDER = str(Path(__file__).parent / "fake_maya_render")  # writes what Maya would, so tasks verify


def maya_scene(path: Path, *textures: str) -> Path:
    lines = ["//Maya ASCII 2023 scene"]
    for i, texture in enumerate(textures):
        lines += [f'createNode file -n "f{i}";', f' setAttr ".ftn" -type "string" "{texture}";']
    path.write_text("\n".join(lines) + "\n")
    return path


def stored_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.fixture
def hostile_scene(tmp_path):
    """A show folder whose scene names system files, this process's environment, a key in the
    user's ~/.ssh by absolute path and through a link, beside one honest texture."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    key = home / ".ssh" / "id_rsa"
    key.write_text(f"-----BEGIN OPENSSH PRIVATE KEY----- {SECRET}\n")
    show = tmp_path / "show"
    show.mkdir()
    (show / "wood.png").write_bytes(b"\x89PNG honest texture")
    (show / "innocent.png").symlink_to(key)
    scene = maya_scene(show / "shot.ma", "/etc/passwd", "/proc/self/environ", str(key), "innocent.png",
                       "wood.png")
    env = {"HOME": str(home), "AZRENDER_BATCH_KEY": SECRET, "AZURE_CLIENT_SECRET": SECRET,
           "AZRENDER_MAYA_RENDER": FAKE_MAYA_RENDER}
    return scene, key, env


def test_deps_flags_system_and_credential_files_with_the_rule(run_cli, hostile_scene):
    scene, key, env = hostile_scene
    proc = run_cli("deps", scene, "--json", env=env, timeout=60)
    assert proc.returncode == 6, proc.stderr
    doc = json.loads(proc.stdout)
    refused = {r["path"]: r["rule"] for r in doc["refused"]}
    assert refused == {"/etc/passwd": "system folder /etc", "/proc/self/environ": "system folder /proc",
                       str(key): "credential location ~/.ssh",
                       str(scene.parent / "innocent.png"): "credential location ~/.ssh"}
    assert [d["path"] for d in doc["dependencies"] if d["refused"] is None] == [str(scene.parent / "wood.png")]

    table = run_cli("deps", scene, env=env, timeout=60)
    assert table.returncode == 6
    assert f"refused: {key}: credential location ~/.ssh (--allow-path to send it anyway)" in table.stdout
    assert "4 refused" in table.stdout.splitlines()[-1]

    allowed = run_cli("deps", scene, "--json", "--allow-path", "/etc", "--allow-path", key.parent, env=env, timeout=60)
    assert {r["path"] for r in json.loads(allowed.stdout)["refused"]} == {"/proc/self/environ"}


def test_submit_refuses_private_files_one_line_each_and_sends_nothing(run_cli, hostile_scene, tmp_path):
    scene, key, env = hostile_scene
    store = tmp_path / "store"
    store.mkdir()
    proc = run_cli("submit", scene, "--backend", "local", "--storage-url", store.as_uri(), env=env, timeout=120)
    assert proc.returncode == 6, proc.stderr
    lines = proc.stderr.splitlines()
    for path, rule in [("/etc/passwd", "system folder /etc"), ("/proc/self/environ", "system folder /proc"),
                       (str(key), "credential location ~/.ssh")]:
        assert f"  {path}: {rule}; not sent (--allow-path to send it anyway)" in lines, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert stored_bytes(store) == b"", "something reached the store"
    assert not [p for p in (tmp_path / "state").rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]


def test_sync_refuses_a_credential_folder_and_a_link_into_one(run_cli, hostile_scene, tmp_path):
    scene, key, env = hostile_scene
    store = tmp_path / "store"
    proc = run_cli("sync", key.parent, "--to", store.as_uri(), env=env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"azrender sync: error: {key.parent}: credential location ~/.ssh; "
                                   "not sent (--allow-path to send it anyway)")
    proc = run_cli("sync", scene.parent, "--to", store.as_uri(), env=env, timeout=60)
    assert proc.returncode == 2
    assert f"  {scene.parent / 'innocent.png'}: credential location ~/.ssh; not sent" in proc.stderr
    assert SECRET.encode() not in stored_bytes(store) if store.exists() else True
    proc = run_cli("sync", scene.parent, "--to", store.as_uri(), "--allow-path", key, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert SECRET.encode() in stored_bytes(store)  # a studio that means it can


def test_special_and_virtual_files_are_refused_wherever_they_are(tmp_path):
    from azrender.private import Guard

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    guard = Guard()
    assert guard.refusal(fifo).rule == "not a regular file (a device, pipe or socket)"
    (tmp_path / "environ.png").symlink_to("/proc/self/environ")
    assert guard.refusal(tmp_path / "environ.png").rule == "system folder /proc"
    assert guard.refusal(tmp_path / "missing.png") is None
    (tmp_path / "empty.png").write_bytes(b"")
    assert guard.refusal(tmp_path / "empty.png") is None


def test_a_pipe_named_by_a_scene_is_refused_with_the_rule_not_missing(run_cli, tmp_path):
    """A FIFO where a texture should be: discovery never opens it (it would block), and every
    surface says REFUSED with the rule, as for a credential file (not MISSING, which would send
    the artist looking for a file that is there)."""
    show = tmp_path / "show"
    show.mkdir()
    (show / "wood.png").write_bytes(b"\x89PNG wood")
    os.mkfifo(show / "pipe.png")
    os.mkfifo(show / "nested.ma")  # a reference that is a pipe is not read as a scene either
    scene = maya_scene(show / "shot.ma", "pipe.png", "nested.ma", "wood.png")
    rule = "not a regular file (a device, pipe or socket)"
    env = {"AZRENDER_MAYA_RENDER": "/bin/true"}
    proc = run_cli("deps", scene, "--json", env=env, timeout=60)
    assert proc.returncode == 6, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["missing"] == []
    assert {r["path"]: r["rule"] for r in doc["refused"]} == {str(show / "pipe.png"): rule, str(show / "nested.ma"): rule}
    table = run_cli("deps", scene, env=env, timeout=60)
    assert table.returncode == 6
    assert [line.split()[0] for line in table.stdout.splitlines() if "pipe.png" in line and "│" in line] == ["REFUSED"]
    never = "nothing can send it: replace it with a regular file"
    assert f"refused: {show / 'pipe.png'}: {rule} ({never})" in table.stdout
    assert table.stdout.splitlines()[-1].endswith("none missing, 2 refused")
    for extra in ((), ("--allow-path", show / "pipe.png")):  # no flag makes a pipe sendable: reading it would block
        dry = run_cli("submit", scene, "--dry-run", "--backend", "local", *extra, env=env, timeout=60)
        assert dry.returncode == 6, dry.stderr
        assert f"  {show / 'pipe.png'}: {rule}; not sent ({never})" in dry.stderr.splitlines()
        assert "3 files, 0 missing" in dry.stderr and "missing file" not in dry.stderr
    # A folder synced as a whole: the pipe (and a link to a device) named, nothing sent, never read.
    (show / "zero.png").symlink_to("/dev/zero")
    store = tmp_path / "store"
    sync = run_cli("sync", show, "--to", store.as_uri(), env=env, timeout=60)
    assert sync.returncode == 2
    assert sorted(sync.stderr.splitlines()[1:]) == [f"  {show / name}: {rule}; not sent ({never})"
                                                    for name in ("nested.ma", "pipe.png", "zero.png")], sync.stderr
    assert not store.exists()


@pytest.mark.blender
def test_the_blender_panel_flags_a_pipe_refused_with_its_rule(blender, addon_blender, tmp_path):  # noqa: F811
    """The add-on's dependency list (installed as an artist's copy is) says REFUSED and why."""
    from conftest import run_blender

    show = tmp_path / "show"
    show.mkdir()
    (show / "wood.png").write_bytes(b"\x89PNG wood")
    scene = show / "shot.blend"
    run_blender(blender, "--python-expr", "import bpy\n"
                "for name in ('wood', 'pipe'):\n"
                "    image = bpy.data.images.new(name, 4, 4)\n"
                "    image.source = 'FILE'\n"
                "    image.filepath = f'//{name}.png'\n"
                "    image.use_fake_user = True\n"
                f"bpy.ops.wm.save_as_mainfile(filepath={str(scene)!r})")
    os.mkfifo(show / "pipe.png")
    proc = addon_blender(str(scene), script="""
        import json, bpy
        bpy.ops.azrender.refresh_dependencies()
        deps = bpy.context.scene.azrender.dependencies
        print("RESULT " + json.dumps([[d.path, d.exists, d.refused] for d in deps]))
    """)
    lines = [line[len("RESULT "):] for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert json.loads(lines[-1]) == [[str(show / "pipe.png"), True, "not a regular file (a device, pipe or socket)"],
                                     [str(show / "wood.png"), True, ""]]


# ---- names that are not UTF-8 (old SMB/NAS shares) ----------------------------------------------

LATIN1 = b"caf\xe9.png"


@pytest.fixture
def latin1_show(tmp_path):
    show = tmp_path / "show"
    show.mkdir()
    (show / os.fsdecode(LATIN1)).write_bytes(b"\x89PNG latin-1 named texture")
    (show / "shot.ma").write_bytes(b'//Maya ASCII 2023 scene\ncreateNode file -n "f";\n'
                                   b' setAttr ".ftn" -type "string" "' + LATIN1 + b'";\n')
    return show


def test_latin1_name_syncs_and_fetches_back_byte_exact(run_cli, latin1_show, tmp_path):
    store = tmp_path / "store"
    first = run_cli("sync", latin1_show, "--to", store.as_uri(), timeout=60)
    assert first.returncode == 0, first.stderr
    assert "2 uploaded" in first.stdout
    again = run_cli("sync", latin1_show, "--to", store.as_uri(), timeout=60)  # through the hash cache
    assert again.returncode == 0, again.stderr
    assert "0 uploaded" in again.stdout and "2 unchanged" in again.stdout
    back = tmp_path / "back"
    fetched = run_cli("fetch", (store / "show").as_uri(), "--dest", back, timeout=60)
    assert fetched.returncode == 0, fetched.stderr
    assert (back / os.fsdecode(LATIN1)).read_bytes() == b"\x89PNG latin-1 named texture"
    assert sorted(os.listdir(os.fsencode(back))) == sorted([LATIN1, b"shot.ma"])


def test_latin1_name_is_refused_by_a_blob_store_before_anything_is_sent(run_cli, latin1_show, azurite, container):
    proc = run_cli("sync", latin1_show, "--to", azurite.container_url(container),
                   env={"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "internal error" not in proc.stderr
    assert (f"  {latin1_show}/caf\\udce9.png: its name is not UTF-8, and Azure Blob Storage names must be; "
            "rename it (convmv -f latin1 -t utf8)") in proc.stderr.splitlines()
    assert list(azurite.blob_service().get_container_client(container).list_blobs()) == []


def test_latin1_name_in_paths_and_submit(run_cli, latin1_show, tmp_path):
    linux = run_cli("paths", latin1_show / "shot.ma", "--json", timeout=60)
    assert linux.returncode == 0, linux.stderr
    windows = run_cli("paths", latin1_show / "shot.ma", "--os", "windows", "--json", timeout=60)
    assert windows.returncode != 0 and "internal error" not in windows.stderr
    assert (f"  {latin1_show}/caf\\udce9.png: 'caf\\udce9.png' is not UTF-8, which a Windows node cannot "
            "spell; rename it (convmv -f latin1 -t utf8)") in windows.stderr.splitlines()
    dry = run_cli("submit", latin1_show / "shot.ma", "--dry-run", "--backend", "local",
                  env={"AZRENDER_MAYA_RENDER": FAKE_MAYA_RENDER}, timeout=60)
    assert dry.returncode == 0, dry.stderr


# ---- first-run errors are one line ---------------------------------------------------------------


def no_azure_login(tmp_path) -> dict:
    """A user who never signed in to Azure: empty home, no Azure variables, no az on PATH."""
    home = tmp_path / "nobody"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "AZURE_CONFIG_DIR": str(home / ".azure")}
    for name in [n for n in os.environ if n.startswith(("AZURE_", "IDENTITY_", "MSI_"))]:
        env[name] = ""
    return env


def test_no_azure_credentials_is_one_line(run_cli, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.png").write_bytes(b"a")
    proc = run_cli("sync", tmp_path / "src", "--to", "https://nosuchaccount.blob.core.windows.net/assets",
                   env=no_azure_login(tmp_path), timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "azrender sync: error: no Azure credentials for https://nosuchaccount.blob.core.windows.net/assets: "
        "run az login, or set AZURE_STORAGE_CONNECTION_STRING, or put a SAS in the URL"]


def test_no_batch_credentials_is_one_line_before_anything_is_uploaded(run_cli, tmp_path, azurite, container):
    show = tmp_path / "show"
    show.mkdir()
    (show / "wood.png").write_bytes(b"\x89PNG wood")
    scene = maya_scene(show / "shot.ma", "wood.png")
    url = azurite.container_url(container, "show")
    args = ("submit", scene, "--backend", "batch", "--batch-url", "https://acct.westeurope.batch.azure.com",
            "--pool", "p", "--storage-url", url, "--json")
    env = {**no_azure_login(tmp_path), "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    proc = run_cli(*args, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "azrender submit: error: no Azure credentials for https://acct.westeurope.batch.azure.com: run az login, "
        "or set batch_auth = \"key\" and AZRENDER_BATCH_KEY in the profile"]
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text('[profiles.default]\nbatch_auth = "key"\n')
    proc = run_cli(*args, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["azrender submit: error: batch_auth is 'key' but AZRENDER_BATCH_KEY is not set"]
    assert list(azurite.blob_service().get_container_client(container).list_blobs()) == [], "assets were uploaded"


def test_mistyped_job_id_in_download_says_so_and_suggests(run_cli, tmp_path):
    proc = run_cli("download", "shot-20260101-120000-abcd", timeout=60)
    assert proc.returncode == 5
    assert proc.stderr.splitlines() == ["azrender download: error: no job 'shot-20260101-120000-abcd': no job record "
                                        "on this machine and no store configured (--storage-url)"]
    store = tmp_path / "store"
    (store / "jobs" / "shot-20260101-120000-abcd" / "outputs" / "t1").mkdir(parents=True)
    (store / "jobs" / "shot-20260101-120000-abcd" / "outputs" / "t1" / "frame_0001.png").write_bytes(b"png")
    proc = run_cli("download", "shot-20260101-120000-abce", "--storage-url", store.as_uri(), timeout=60)
    assert proc.returncode == 5
    assert proc.stderr.splitlines() == [
        f"azrender download: error: no job 'shot-20260101-120000-abce': nothing under "
        f"jobs/shot-20260101-120000-abce/ in {store.as_uri()}; did you mean shot-20260101-120000-abcd?"]
    assert not (tmp_path / "renders").exists()
    proc = run_cli("download", "shot-20260101-120000-abcd", "--storage-url", store.as_uri(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "renders" / "shot-20260101-120000-abcd" / "t1" / "frame_0001.png").read_bytes() == b"png"


def sas_url(azurite, container: str, permissions: str, expiry) -> str:
    from azure.storage.blob import generate_container_sas

    token = generate_container_sas(azurite.account, container, account_key=azurite.key,
                                   permission=permissions, expiry=expiry)
    return f"{azurite.container_url(container)}?{token}"


def test_read_only_or_expired_sas_is_one_line_before_any_transfer(run_cli, tmp_path, azurite, container):
    from datetime import datetime, timedelta, timezone

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.png").write_bytes(b"a")
    now = datetime.now(timezone.utc)
    read_only = run_cli("sync", tmp_path / "src", "--to", sas_url(azurite, container, "rl", now + timedelta(hours=1)),
                        timeout=60)
    assert read_only.returncode == 2
    lines = read_only.stderr.splitlines()
    assert len(lines) == 1 and lines[0].endswith(
        "the SAS in the store URL grants read, list (sp=rl), and upload needs create or write; make one with sp=racwl")
    assert "again" not in read_only.stderr
    expired_at = now - timedelta(days=1)
    expired = run_cli("fetch", sas_url(azurite, container, "rl", expired_at), "--dest", tmp_path / "back", timeout=60)
    assert expired.returncode == 2
    assert expired.stderr.splitlines()[0].endswith(
        f"the SAS in the store URL expired on {expired_at:%Y-%m-%d %H:%M} UTC; make a new one")
    assert "sig=" not in read_only.stderr + expired.stderr
    assert list(azurite.blob_service().get_container_client(container).list_blobs()) == []


# ---- Ctrl-C stops transfers within 2 s -------------------------------------------------------------


def interrupt_when(proc, ready, *, timeout: float = 120) -> float:
    """SIGINT ``proc`` once ``ready()`` holds; returns the seconds it took to exit after it."""
    import signal
    import time

    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the transfer never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    try:
        proc.wait(timeout=30)
    except Exception:
        proc.kill()
        raise
    return time.monotonic() - sent


def start_cli(tmp_path, *args, env=None):
    import subprocess
    import sys

    from conftest import cli_env

    merged = cli_env(AZRENDER_STATE_DIR=str(tmp_path / "state"), AZRENDER_CACHE_DIR=str(tmp_path / "cache"),
                     AZRENDER_CONFIG_DIR=str(tmp_path / "config"), **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "azrender", *map(str, args)], env=merged, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def large_folder(tmp_path):
    """1,500 small files and two large ones: minutes of transfers at two workers."""
    folder = tmp_path / "plates"
    folder.mkdir()
    for i in range(1500):
        (folder / f"plate_{i:04d}.exr").write_bytes(os.urandom(64 * 1024))
    for name in ("big_a.vdb", "big_b.vdb"):
        with open(folder / name, "wb") as out:
            for _ in range(48):
                out.write(os.urandom(1 << 20))
    return folder


def test_ctrl_c_stops_sync_and_fetch_within_2_s_and_says_what_moved(run_cli, tmp_path, large_folder, azurite, container):
    import re

    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    blobs = azurite.blob_service().get_container_client(container)
    url = azurite.container_url(container)
    sync = start_cli(tmp_path, "sync", large_folder, "--to", url, "--workers", "2", env=env)
    took = interrupt_when(sync, lambda: sum(1 for _ in blobs.list_blobs(name_starts_with="content/")) >= 20)
    stderr = sync.stderr.read()
    assert sync.returncode == 130, stderr
    assert took < 2.0, f"sync took {took:.1f} s to stop after Ctrl-C"
    moved = re.search(r"interrupted: uploaded (\d+) of 1502 files \(\d+ bytes\) before Ctrl-C, (\d+) not uploaded; "
                      r"run the same command again to finish", stderr)
    assert moved, stderr
    uploaded, not_uploaded = int(moved.group(1)), int(moved.group(2))
    assert uploaded + not_uploaded == 1502 and not_uploaded > 500, "queued transfers were not cancelled"
    stored = sum(1 for _ in blobs.list_blobs(name_starts_with="content/"))  # each file's bytes, stored by hash
    assert uploaded <= stored <= uploaded + 2 + 2, "transfers went on after Ctrl-C"  # in flight at 2 workers

    rerun = run_cli("sync", large_folder, "--to", url, "--json", env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["skipped"] >= uploaded
    assert sum(1 for _ in blobs.list_blobs(name_starts_with="content/")) == 1502

    dest = tmp_path / "back"
    fetch = start_cli(tmp_path, "fetch", f"{url}/plates", "--dest", dest, "--workers", "2", env=env)
    took = interrupt_when(fetch, lambda: dest.is_dir() and len(os.listdir(dest)) >= 20)
    stderr = fetch.stderr.read()
    assert fetch.returncode == 130, stderr
    assert took < 2.0, f"fetch took {took:.1f} s to stop after Ctrl-C"
    moved = re.search(r"interrupted: downloaded (\d+) of 1502 files", stderr)
    assert moved and int(moved.group(1)) < 1000, stderr
    again = run_cli("fetch", f"{url}/plates", "--dest", dest, env=env, timeout=600)
    assert again.returncode == 0, again.stderr
    assert sorted(os.listdir(dest)) == sorted(os.listdir(large_folder)), "a partial file was left or a file is missing"
    assert (dest / "big_b.vdb").read_bytes() == (large_folder / "big_b.vdb").read_bytes()


def test_ctrl_c_stops_the_sync_stage_of_submit_within_2_s_and_the_next_submit_resumes(run_cli, tmp_path, large_folder,
                                                                                       azurite, container):
    """SIGINT to the real ``azrender submit`` while it uploads the scene's files: it stops at once,
    says what was and was not moved and that nothing was submitted; the next submit sends the rest."""
    import re

    names = sorted(os.listdir(large_folder))
    scene = maya_scene(tmp_path / "shot.ma", *(f"plates/{name}" for name in names))
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string, "AZRENDER_MAYA_RENDER": FAKE_MAYA_RENDER}
    blobs = azurite.blob_service().get_container_client(container)
    url = azurite.container_url(container, "show")
    args = ("submit", scene, "--backend", "local", "--frames", "1", "--storage-url", url)
    submit = start_cli(tmp_path, *args, env=env)
    took = interrupt_when(submit, lambda: sum(1 for _ in blobs.list_blobs(name_starts_with="show/content/")) >= 20)
    stderr = submit.stderr.read()
    assert submit.returncode == 130, stderr
    assert took < 2.0, f"submit took {took:.1f} s to stop after Ctrl-C"
    moved = re.search(r"error: interrupted: uploaded (\d+) of (\d+) files \(\d+ bytes\) before Ctrl-C, (\d+) not uploaded"
                      r"(, \d+ already there)?; run the same command again to finish; nothing was submitted$", stderr,
                      re.MULTILINE)
    assert moved, stderr
    uploaded, total, not_uploaded = (int(moved.group(n)) for n in (1, 2, 3))
    assert total >= len(names) and uploaded + not_uploaded == total and not_uploaded > 500, stderr
    stored = sum(1 for _ in blobs.list_blobs(name_starts_with="show/content/"))
    assert uploaded <= stored <= uploaded + 16 + 2, "transfers went on after Ctrl-C"  # in flight at 16 workers
    assert not list(blobs.list_blobs(name_starts_with="show/manifests/")), "a manifest was written"
    assert not (tmp_path / "state" / "local-batch" / "jobs").exists() or \
        not list((tmp_path / "state" / "local-batch" / "jobs").iterdir()), "a job was submitted"

    rerun = run_cli(*args, "--json", "--wait", env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    sync = json.loads(rerun.stdout)["sync"]
    assert sync["skipped"] >= uploaded and sync["uploaded"] <= total - uploaded, sync
    assert sum(1 for _ in blobs.list_blobs(name_starts_with="show/content/")) >= len(names)


# ---- no job waits forever ------------------------------------------------------------------------

HOLD = "/bin/bash -c 'echo $$ > pid; while [ ! -e \"$AZ_BATCH_NODE_SHARED_DIR/go\" ]; do sleep 0.05; done; echo done > out'"


def wait_until(condition, what: str, timeout: float = 30):
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def runner_pids(root: Path) -> list[int]:
    found = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            continue
        if b"azrender.backends.local" in cmdline and str(root).encode() in cmdline:
            found.append(int(p))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def local_job(root: Path, job_id: str, command: str, *, prep: str | None = None):
    from azure.batch import models as m

    from azrender.backends.local import LocalBatchClient

    client = LocalBatchClient(root, node_count=1)
    client.create_job(m.BatchJobCreateOptions(
        id=job_id, pool_info=m.BatchPoolInfo(pool_id="local"),
        job_preparation_task=m.BatchJobPreparationTask(command_line=prep) if prep else None))
    client.create_tasks(job_id, [m.BatchTaskCreateOptions(id="frames-0001", command_line=command)])
    return client


@pytest.mark.timeout(120)
def test_a_killed_runner_is_resumed_by_status_and_by_wait(run_cli, tmp_path):
    import signal

    root = tmp_path / "state" / "local-batch"  # where the CLI's local backend looks
    client = local_job(root, "job1", HOLD)
    node = client.node("local", "node-0")
    pid_file = node.task_dir("job1", "frames-0001") / "wd" / "pid"
    wait_until(lambda: pid_file.is_file() and pid_file.read_text().endswith("\n"), "the task to run")
    orphan = int(pid_file.read_text())
    for pid in runner_pids(root):  # OOM killer, logout, power loss: the runner is gone
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not runner_pids(root), "the runner to die")
    assert client.status("job1").count("running") == 1  # what a dead runner leaves: "running" for ever

    proc = run_cli("status", "job1", timeout=60)
    assert proc.returncode == 0, proc.stderr
    wait_until(lambda: not alive(orphan), "the dead runner's task to be killed (provably its own)")
    wait_until(lambda: pid_file.is_file() and int(pid_file.read_text() or 0) != orphan, "the task to run again")
    (node.shared / "go").touch()
    wait_until(lambda: client.status("job1").done, "the resumed job to finish")  # no client.wait: no revival here
    assert client.get_task("job1", "frames-0001").execution_info.requeue_count == 1

    client = local_job(root, "job2", HOLD.replace("/go", "/go2"))
    pid_file = node.task_dir("job2", "frames-0001") / "wd" / "pid"
    wait_until(lambda: pid_file.is_file() and pid_file.read_text().endswith("\n"), "the second task to run")
    for pid in runner_pids(root):
        os.kill(pid, signal.SIGKILL)
    (node.shared / "go2").touch()
    proc = run_cli("wait", "job2", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "job2 (local): active; 1 tasks: 1 completed, 0 running, 0 waiting, 0 failed"


@pytest.mark.timeout(120)
def test_a_failed_preparation_task_is_shown_and_ends_the_wait_on_the_local_backend(run_cli, tmp_path):
    root = tmp_path / "state" / "local-batch"
    client = local_job(root, "job1", "/bin/true",
                       prep="/bin/bash -c 'echo checking 3 files; echo missing on the node: tex/wood.png >&2; exit 3'")
    proc = run_cli("wait", "job1", timeout=60)
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0] == "job1 (local): active; 1 tasks: 0 completed, 0 running, 1 waiting, 0 failed"  # as on Batch
    assert out[1] == ("  job preparation failed on node-0 (exit code 3): "
                      "FailureExitCode: The task process exited with exit code 3")
    assert out[2] == "    | missing on the node: tex/wood.png"
    assert out[3].startswith("  no node can run the job's tasks")
    doc = json.loads(run_cli("status", "job1", "--json", timeout=60).stdout)
    assert doc["stuck"] and doc["counts"]["active"] == 1
    assert doc["preparation_failed"][0]["stderr_tail"] == "missing on the node: tex/wood.png"
    assert client.get_task("job1", "frames-0001").state == "active"


@pytest.mark.timeout(120)
def test_recovery_never_kills_a_process_group_it_cannot_prove_is_the_tasks(tmp_path):
    import signal
    import subprocess
    from dataclasses import replace

    from azrender.backends.local.state import Root, TaskRecord, load, save

    root = tmp_path / "batch"
    client = local_job(root, "job1", HOLD)
    node = client.node("local", "node-0")
    pid_file = node.task_dir("job1", "frames-0001") / "wd" / "pid"
    wait_until(lambda: pid_file.is_file() and pid_file.read_text().endswith("\n"), "the task to run")
    for pid in runner_pids(root):  # a reboot: the runner and the task are gone...
        os.kill(pid, signal.SIGKILL)
    os.killpg(int(pid_file.read_text()), signal.SIGKILL)
    wait_until(lambda: not runner_pids(root), "the runner to die")
    # ... and after it, an unrelated program got the recorded process group id.
    bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        path = Root(root).task_file("job1", "frames-0001")
        record = load(path, TaskRecord)
        save(path, replace(record, pgid=bystander.pid))
        client.resume("job1")
        wait_until(lambda: client.status("job1").count("running") == 1
                   and load(path, TaskRecord).pgid not in (None, bystander.pid), "the task to be requeued and run")
        assert bystander.poll() is None, "recovery killed a process group that was not the task's"
        (node.shared / "go").touch()
        wait_until(lambda: client.status("job1").done, "the job to finish")
    finally:
        bystander.kill()
        bystander.wait()


# ---- least privilege for nodes ---------------------------------------------------------------------


@pytest.fixture
def textured_shot(tmp_path):
    show = tmp_path / "show"
    show.mkdir()
    (show / "wood.png").write_bytes(b"\x89PNG wood")
    return maya_scene(show / "shot.ma", "wood.png")


def test_a_sas_broader_than_nodes_need_is_refused_before_anything_is_sent(run_cli, textured_shot, azurite, container):
    from datetime import datetime, timedelta, timezone

    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    env = {"AZRENDER_MAYA_RENDER": FAKE_MAYA_RENDER}
    broad = generate_account_sas(azurite.account, azurite.key, ResourceTypes(service=True, container=True, object=True),
                                 AccountSasPermissions.from_string("rwdlacup"),
                                 expiry=datetime.now(timezone.utc) + timedelta(days=365))
    url = azurite.container_url(container, "show")
    proc = run_cli("submit", textured_shot, "--backend", "local", "--frames", "1", "--storage-url", f"{url}?{broad}",
                   env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if "error" in x]
    assert line.startswith(f"azrender submit: error: {url}: the SAS in the store URL is an account SAS (every "
                           "container of the account) and grants delete, update, process (sp=rwdlacup) and is valid until ")
    assert line.endswith("or pass --allow-broad-sas") and "sig=" not in proc.stderr
    assert list(azurite.blob_service().get_container_client(container).list_blobs()) == []

    narrow = sas_url(azurite, container, "racwl", datetime.now(timezone.utc) + timedelta(days=1))
    proc = run_cli("submit", textured_shot, "--backend", "local", "--frames", "1", "--storage-url",
                   narrow.replace(f"/{container}?", f"/{container}/show?"), "--wait", env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_node_secrets_are_gone_after_release_and_azrender_folders_are_private(run_cli, textured_shot, tmp_path,
                                                                             azurite, container):
    import stat

    proc = run_cli("submit", textured_shot, "--backend", "local", "--frames", "1-2", "--wait", "--storage-url",
                   azurite.container_url(container, "show"),
                   env={"AZRENDER_MAYA_RENDER": FAKE_MAYA_RENDER, "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string},
                   timeout=300)
    assert proc.returncode == 0, proc.stderr
    nodes = tmp_path / "state" / "local-batch" / "pools"
    prep_dirs = list(nodes.glob("*/nodes/*/workitems/*/job-1/*prep*/wd"))
    assert prep_dirs, "no preparation task ran"
    assert [p for p in nodes.rglob("access.json")] == [], "a node kept the store SAS after the job's release"
    for name in ("state", "cache", "config"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o700, f"{name} folder is {oct(mode)}: other users can read job records and logs"


def loose_modes(folder: Path) -> list[str]:
    """Files and folders under ``folder`` that a group or other users may read, write or enter."""
    return [f"{oct(p.lstat().st_mode & 0o777)} {p}" for p in [folder, *folder.rglob("*")]
            if not p.is_symlink() and p.lstat().st_mode & 0o077]


def test_azrender_keeps_its_files_private_under_umask_022_and_gives_the_users_theirs(tmp_path):
    """A real session with the usual umask 022: submit (local backend, nodes, store, job records,
    logs), status, download, sync and fetch. Everything under azrender's own folders is 0600/0700;
    the frames it downloads and a store the user keeps elsewhere (what the CLI and the local
    backend's nodes write there) get the user's 0644/0755."""
    import subprocess
    import sys

    from conftest import cli_env

    show = tmp_path / "show"
    show.mkdir()
    (show / "wood.png").write_bytes(b"\x89PNG wood")
    scene = maya_scene(show / "shot.ma", "wood.png")
    env = cli_env(AZRENDER_STATE_DIR=str(tmp_path / "state"), AZRENDER_CACHE_DIR=str(tmp_path / "cache"),
                  AZRENDER_CONFIG_DIR=str(tmp_path / "config"), AZRENDER_MAYA_RENDER=FAKE_MAYA_RENDER)

    def run(*args):
        proc = subprocess.run([sys.executable, "-m", "azrender", *map(str, args)], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300, preexec_fn=lambda: os.umask(0o022))
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc

    frames = tmp_path / "frames"
    job_id = json.loads(run("submit", scene, "--backend", "local", "--frames", "1-2", "--wait", "--download", frames,
                            "--json").stdout)["job_id"]
    run("status", job_id)
    run("download", job_id, "--dest", tmp_path / "again", "--logs")
    shared = tmp_path / "nas" / "store"  # a store the user keeps in a folder others read
    run("sync", show, "--to", shared.as_uri())
    run("fetch", f"{shared.as_uri()}/show", "--dest", tmp_path / "back")
    other = json.loads(run("submit", scene, "--backend", "local", "--frames", "3", "--wait", "--storage-url",
                           shared.as_uri(), "--json").stdout)["job_id"]
    assert list(shared.glob(f"jobs/{other}/outputs/**/shot.3.iff")), "the nodes wrote no frame to the user's store"

    ours = [tmp_path / name for name in ("config", "cache", "state")]
    assert [p for p in (tmp_path / "state").rglob("*") if p.is_file()], "nothing was written"
    assert [loose for folder in ours for loose in loose_modes(folder)] == []
    downloaded = sorted(frames.rglob("shot.*.iff"))
    assert len(downloaded) == 2, sorted(frames.rglob("*"))
    users = [p for folder in (frames, tmp_path / "again", tmp_path / "back", shared) for p in folder.rglob("*")]
    assert [f"{oct(p.stat().st_mode & 0o777)} {p}" for p in users if p.is_file() and p.stat().st_mode & 0o777 != 0o644] == []
    assert {oct(p.stat().st_mode & 0o777) for p in users if p.is_dir()} == {"0o755"}


def test_a_download_folder_that_cannot_take_the_frames_is_said_with_the_command_that_helps(run_cli, tmp_path):
    """``submit --wait --download X``: a file as X is refused before anything is sent; a download
    that fails once the job is done names the file and says ``azrender download``, not "run the
    same command again" (that would submit a second job)."""
    show = tmp_path / "show"
    show.mkdir()
    scene = maya_scene(show / "shot.ma")
    env = {"AZRENDER_MAYA_RENDER": FAKE_MAYA_RENDER}
    (tmp_path / "afile").write_text("not a folder")
    proc = run_cli("submit", scene, "--backend", "local", "--frames", "1", "--wait", "--download", tmp_path / "afile",
                   env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (f"azrender submit: error: --download {tmp_path / 'afile'}: a file, not a "
                                            "folder: frames are downloaded into a folder")
    assert not (tmp_path / "state" / "jobs").exists(), "a job was submitted"

    dest = tmp_path / "frames"
    (dest / "shot.iff").mkdir(parents=True)  # where the frame must land (animation off: no number), a folder is in the way
    proc = run_cli("submit", scene, "--backend", "local", "--frames", "1", "--wait", "--download", dest, "--json",
                   env=env, timeout=120)
    assert proc.returncode != 0
    error, hint = proc.stderr.splitlines()[-2:]
    job_id = error.split("job ", 1)[1].split(" ", 1)[0]
    assert error.startswith(f"azrender submit: error: job {job_id} ended, but its outputs did not all come home: "
                            "downloaded 0 of 1 files (0 bytes); 1 not downloaded: ") and "shot.iff" in error
    assert hint == f"  hint: azrender download {job_id} --dest {dest}" and "same command" not in proc.stderr


# ---- limits checked where they are cheap ------------------------------------------------------------


def test_a_name_leaving_no_room_for_the_nodes_temporary_suffix_fails_at_plan_time(run_cli, tmp_path):
    show = tmp_path / "show"
    show.mkdir()
    long_name = "plate_" + "x" * 235 + ".exr"  # 245 bytes: fits here, not as <name>.azrtmp-<pid> on a node
    (show / long_name).write_bytes(b"exr")
    scene = maya_scene(show / "shot.ma", long_name)
    proc = run_cli("submit", scene, "--dry-run", "--backend", "local", env={"AZRENDER_MAYA_RENDER": FAKE_MAYA_RENDER},
                   timeout=60)
    assert proc.returncode == 6, proc.stderr
    assert (f"  {show / long_name}: its name is 245 bytes, and a node downloads it as <name>.azrtmp-<pid> (up to "
            "260 bytes), over the 255 a file name may have; shorten it by 5") in proc.stderr.splitlines()


def test_a_million_frames_in_chunks_of_one_is_refused_at_once(run_cli, tmp_path):
    import time

    scene = maya_scene(tmp_path / "shot.ma")
    started = time.monotonic()
    proc = run_cli("submit", scene, "--dry-run", "--frames", "1-1000000", env={"AZRENDER_MAYA_RENDER": FAKE_MAYA_RENDER},
                   timeout=120)
    took = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr[-500:]
    assert proc.stderr.splitlines()[-2:] == [
        "azrender submit: error: 1,000,000 frames in chunks of 1 make 1,000,000 tasks, over the 10,000 one job may have",
        "  hint: use --chunk 100 or more, or split the range"]
    assert took < 60 and proc.stdout == ""


def test_a_store_inside_the_folder_it_stores_is_refused(run_cli, tmp_path):
    show = tmp_path / "show"
    show.mkdir()
    (show / "wood.png").write_bytes(b"wood")
    store = show / "store"
    proc = run_cli("sync", show, "--to", store.as_uri(), timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"azrender sync: error: the store {store.as_uri()} is inside {show}, which it stores: each run would store "
        "the store into itself; keep it outside the folders it stores"]
    assert not store.exists()


# ---- the local backend keeps one copy of the assets ------------------------------------------------


def disk_use(*folders: Path) -> int:
    """Bytes the files under ``folders`` occupy, each inode once (hard links share their blocks)."""
    seen, total = set(), 0
    for folder in folders:
        for path in folder.rglob("*"):
            info = path.lstat()
            if path.is_file() and not path.is_symlink() and (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_blocks * 512
    return total


@pytest.mark.timeout(300)
def test_a_two_node_local_job_keeps_one_copy_of_the_assets(run_cli, tmp_path):
    from azrender.backends.local import LocalBatchClient

    show = tmp_path / "show"
    (show / "tex").mkdir(parents=True)
    names = []
    for i in range(4):
        (show / "tex" / f"plate_{i}.exr").write_bytes(os.urandom(4 << 20))
        names.append(f"tex/plate_{i}.exr")
    assets = 16 << 20
    scene = maya_scene(show / "shot.ma", *names)
    state = tmp_path / "state"
    LocalBatchClient(state / "local-batch", node_count=2).get_pool("local")  # two nodes on this one disk
    proc = run_cli("submit", scene, "--backend", "local", "--frames", "1-2", "--wait", "--json",
                   env={"AZRENDER_MAYA_RENDER": FAKE_MAYA_RENDER}, timeout=240)
    assert proc.returncode == 0, proc.stderr
    nodes = state / "local-batch" / "pools" / "local" / "nodes"
    prepared = sorted(p.parts[-5] for p in nodes.glob("*/workitems/*/job-1/*prep*"))
    assert prepared == ["node-0", "node-1"], "the job did not run on both nodes"
    store = disk_use(state / "store")
    everything = disk_use(state)
    assert store >= assets
    assert everything <= 1.1 * assets + store, f"{everything / assets:.2f}x the assets with a {store / assets:.2f}x store"
    assert not (state / "submissions" / json.loads(proc.stdout)["job_id"]).exists(), "the scene copy was kept"
