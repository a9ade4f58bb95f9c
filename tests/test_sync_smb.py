"""The SMB 3 store against a real Samba (encryption required, a tdbsam user, a high port on
127.0.0.1), through the CLI as a user runs it: sync, change one file, resync, fetch, a kill
mid-sync and the rerun, UNC paths, bad credentials. What is checked is what lands in the share's
own folder on disk, byte for byte, and what the user reads on screen.

Expected hashes are computed here with xxhash directly, never by the code under test.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest
import xxhash

from test_reliability_sync import PARTIAL, make_tree, spawn


def share_files(samba, prefix: str) -> dict[str, bytes]:
    """What the share holds under ``prefix``, as folders: each head manifest's files (path -> the bytes
    of its content object, which must hash to the recorded hash), plus the manifests themselves."""
    root = samba.folder / prefix
    found = {}
    for manifest in root.glob("*.manifest.json"):
        found[manifest.name] = manifest.read_bytes()
        folder = manifest.name[: -len(".manifest.json")]
        for entry in json.loads(manifest.read_bytes())["entries"]:
            data = (root / "content" / entry["hash"][:2] / entry["hash"]).read_bytes()
            assert xxhash.xxh3_128_hexdigest(data) == entry["hash"]
            found[f"{folder}/{entry['key']}"] = data
    return found


def content_objects(samba, prefix: str) -> dict[str, bytes]:
    """Every complete content object under ``prefix`` (partial files excluded), by name (= hash)."""
    return {p.name: p.read_bytes() for p in (samba.folder / prefix / "content").rglob("*")
            if p.is_file() and PARTIAL not in p.name}


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def test_sync_change_one_file_resync_and_fetch_back(tmp_path, samba, smb_prefix, run_cli):
    rng = random.Random(5)
    files = {f"tex/t{i}.png": rng.randbytes(rng.randint(1, 200_000)) for i in range(12)}
    files["tex/sub/big.exr"] = rng.randbytes(9_000_000)  # several SMB writes
    write_tree(tmp_path / "src", files)
    url = samba.url(smb_prefix)
    source = tmp_path / "src" / "tex"

    first = run_cli("sync", source, "--to", url, "--json", env=samba.env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["uploaded"] == 13
    stored = share_files(samba, smb_prefix)
    assert {k: v for k, v in stored.items() if k != "tex.manifest.json"} == files
    manifest = json.loads(stored["tex.manifest.json"])
    assert {e["key"]: e["hash"] for e in manifest["entries"]} == {
        rel[len("tex/"):]: xxhash.xxh3_128_hexdigest(data) for rel, data in files.items()}

    (source / "t3.png").write_bytes(b"repainted")
    files["tex/t3.png"] = b"repainted"
    again = run_cli("sync", source, "--to", url, "--json", env=samba.env)
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert (result["uploaded"], result["skipped"], result["bytes_uploaded"]) == (1, 12, len(b"repainted"))
    assert share_files(samba, smb_prefix)["tex/t3.png"] == b"repainted"

    human = run_cli("sync", source, "--to", url, env=samba.env)
    assert human.returncode == 0 and "0 uploaded" in human.stdout and "13 unchanged" in human.stdout, human.stdout

    fetched = run_cli("fetch", url, "--dest", tmp_path / "back", "--json", env=samba.env)
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads(fetched.stdout)["downloaded"] == 13  # the folder, as its manifest says
    back = tmp_path / "back"
    assert {p.relative_to(back).as_posix(): p.read_bytes() for p in back.rglob("*") if p.is_file()
            if p.name != "tex.manifest.json"} == files
    again = run_cli("fetch", url, "--dest", back, "--json", env=samba.env)
    assert json.loads(again.stdout)["downloaded"] == 0
    for proc in (first, again, human, fetched):
        assert samba.password not in proc.stdout + proc.stderr


def test_unc_path_and_user_from_the_environment(tmp_path, samba, smb_prefix, run_cli):
    write_tree(tmp_path / "src", {"lib/a.txt": b"alpha", "lib/deep/b.txt": b"beta"})
    unc = f"\\\\127.0.0.1@{samba.port}\\{samba.share}\\{smb_prefix}\\show"
    env = {**samba.env, "AZRENDER_SMB_USER": samba.user}
    proc = run_cli("sync", tmp_path / "src" / "lib", "--to", unc, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert share_files(samba, f"{smb_prefix}/show") == {"lib/a.txt": b"alpha", "lib/deep/b.txt": b"beta",
                                                       "lib.manifest.json": share_files(samba, f"{smb_prefix}/show")["lib.manifest.json"]}
    dry = run_cli("sync", tmp_path / "src" / "lib", "--to", unc, "--dry-run", "--json", env=env)
    assert json.loads(dry.stdout)["upload"] == []


def test_an_object_rewritten_outside_azrender_loses_its_hash(tmp_path, samba, smb_prefix, run_cli, monkeypatch):
    """A hash counts only while the stored file keeps its size and time: another tool writing
    the share voids it, so the store never vouches for bytes it did not write."""
    write_tree(tmp_path / "src", {"tex/a.png": b"original-bytes"})
    url = samba.url(smb_prefix)
    assert run_cli("sync", tmp_path / "src" / "tex", "--to", url, env=samba.env).returncode == 0
    from azrender.sync.stores import open_store

    monkeypatch.setenv("AZRENDER_SMB_PASSWORD", samba.password)
    store = open_store(url)
    [before] = [o for o in store.list("content/")]
    assert before.content_hash == xxhash.xxh3_128_hexdigest(b"original-bytes")
    [obj] = (samba.folder / smb_prefix / "content").rglob(before.key.rsplit("/", 1)[-1])
    obj.write_bytes(b"someone-elses!")  # same size, written by another client
    [after] = [o for o in store.list("content/")]
    store.close()
    assert after.content_hash is None


def test_killed_mid_sync_then_rerun_sends_only_what_is_missing(tmp_path, samba, smb_prefix, monkeypatch):
    tree = make_tree(tmp_path / "proj", 9, files=40, big=2)
    url = samba.url(smb_prefix)
    env = {**samba.env, "AZRENDER_CACHE_DIR": str(tmp_path / "cache")}
    proc = spawn(["sync", tmp_path / "proj", "--to", url, "--workers", "4"], env, slow_disk=True)
    deadline = time.time() + 60
    while len(content_objects(samba, smb_prefix)) < 5 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # mid-transfer: some files stored, others being written
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the sync finished before it could be interrupted"
    # nothing that looks complete is incomplete: every stored object is exactly the bytes its name hashes
    visible = content_objects(samba, smb_prefix)
    assert visible and all(xxhash.xxh3_128_hexdigest(data) == name for name, data in visible.items())
    assert len(visible) < len(set(map(xxhash.xxh3_128_hexdigest, tree.values()))), "the kill came too late"

    from azrender.sync.stores import open_store

    monkeypatch.setenv("AZRENDER_SMB_PASSWORD", samba.password)
    store = open_store(url)
    vouched = {o.key.rsplit("/", 1)[-1] for o in store.list("content/") if o.content_hash}
    store.close()
    partials = [p for p in (samba.folder / smb_prefix).rglob(f"{PARTIAL}*")]
    old = time.time() - 3600  # as if the killed runs were an hour ago: the next run sweeps them
    for p in partials:
        os.utime(p, (old, old))

    final = spawn(["sync", tmp_path / "proj", "--to", url, "--json"], env)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    assert json.loads(out)["uploaded"] == sum(xxhash.xxh3_128_hexdigest(d) not in vouched for d in tree.values())
    assert {k[len("proj/"):]: v for k, v in share_files(samba, smb_prefix).items()
            if k.startswith("proj/")} == tree
    assert not list((samba.folder / smb_prefix).rglob(f"{PARTIAL}*")), "killed runs' partial files stayed"


def test_wrong_password_is_one_line_and_never_printed(tmp_path, samba, smb_prefix, run_cli):
    write_tree(tmp_path / "src", {"tex/a.png": b"x"})
    wrong = "Wrong-" + samba.password
    proc = run_cli("sync", tmp_path / "src" / "tex", "--to", samba.url(smb_prefix),
                   env={"AZRENDER_SMB_PASSWORD": wrong})
    assert proc.returncode == 4
    assert "refused the user name or password" in proc.stderr
    assert "Traceback" not in proc.stderr and wrong not in proc.stderr + proc.stdout
    in_url = run_cli("sync", tmp_path / "src" / "tex", "--to",
                     f"smb://{samba.user}:{wrong}@127.0.0.1:{samba.port}/{samba.share}", env={})
    assert in_url.returncode == 2 and "AZRENDER_SMB_PASSWORD" in in_url.stderr
    assert wrong not in in_url.stderr + in_url.stdout


def test_missing_store_folder_and_unreachable_server_say_so(tmp_path, samba, run_cli):
    proc = run_cli("fetch", samba.url("no-such-folder"), "--dest", tmp_path / "d", env=samba.env)
    assert proc.returncode == 4 and "no such store folder" in proc.stderr, proc.stderr
    from conftest import free_port

    write_tree(tmp_path / "src", {"tex/a.png": b"x"})
    dead = run_cli("sync", tmp_path / "src" / "tex", "--to", f"smb://u@127.0.0.1:{free_port()}/share", env=samba.env, timeout=120)
    assert dead.returncode == 4 and "cannot reach" in dead.stderr and "Traceback" not in dead.stderr


@pytest.mark.parametrize("url, expected", [
    ("smb://me@nas:1445/proj/show/a", ("nas", 1445, "proj", "show/a", "me", None)),
    ("smb://nas/proj", ("nas", 445, "proj", "", None, None)),
    ("\\\\nas\\lib\\tex", ("nas", 445, "lib", "tex", None, None)),
    ("\\\\nas@4455\\lib", ("nas", 4455, "lib", "", None, None)),
    ("https://acct.file.core.windows.net/renders/show1", ("acct.file.core.windows.net", 445, "renders", "show1",
                                                         None, "acct")),
])
def test_smb_urls(url, expected):
    from azrender.sync.smb_store import parse_smb_url

    loc = parse_smb_url(url)
    assert (loc.host, loc.port, loc.share, loc.prefix, loc.user, loc.azure_account) == expected


@pytest.mark.parametrize("url, says", [
    ("smb://nas", "needs a host and a share"),
    ("\\\\nas", "needs a host and a share"),
    ("smb://u:secret-pw@nas/s", "AZRENDER_SMB_PASSWORD"),
    ("smb://nas/s/../x", "not usable"),
    ("smb://nas:99999/s", "malformed"),
])
def test_bad_smb_urls_are_one_clear_line(url, says):
    from azrender.errors import UsageError
    from azrender.sync.stores import open_store

    with pytest.raises(UsageError) as err:
        open_store(url)
    assert says in str(err.value) and "secret-pw" not in str(err.value)


def test_azure_files_uses_the_account_key(monkeypatch):
    from azrender.errors import UsageError
    from azrender.redact import redact
    from azrender.sync.stores import open_store

    monkeypatch.delenv("AZURE_STORAGE_KEY", raising=False)
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    with pytest.raises(UsageError, match="needs the storage account key"):
        open_store("https://acct.file.core.windows.net/renders")
    key = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={key}")
    store = open_store("https://acct.file.core.windows.net/renders/show1")
    assert store._s.user == "acct" and store.display_url == "smb://acct.file.core.windows.net/renders/show1"
    assert redact(f"x {key} y") == "x *** y"


def test_a_server_that_cannot_encrypt_is_refused(tmp_path, samba, run_cli):
    """SMB 2.1 has no encryption: azrender refuses to send a byte (or the password's hash) to it."""
    import sambaserver
    from conftest import free_port

    plain = sambaserver.Samba(tmp_path / "plain", free_port(),
                              protocol="server max protocol = SMB2_10\nserver smb encrypt = off").start()
    try:
        write_tree(tmp_path / "src", {"tex/a.png": b"secret texture"})
        proc = run_cli("sync", tmp_path / "src" / "tex", "--to", plain.url("p"), env=plain.env)
        assert proc.returncode == 4, proc.stdout + proc.stderr
        assert "encrypt" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert not list(plain.folder.rglob("a.png"))
    finally:
        plain.stop()


def test_a_name_a_share_refuses_stops_the_sync_before_anything_is_sent(tmp_path, samba, smb_prefix, run_cli):
    write_tree(tmp_path / "src", {"tex/ok.png": b"fine", "tex/what?.png": b"question"})
    proc = run_cli("sync", tmp_path / "src" / "tex", "--to", samba.url(smb_prefix), env=samba.env)
    assert proc.returncode == 2 and "'what?.png' has '?'" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (samba.folder / smb_prefix).exists(), "nothing may be sent when a name is refused"


def test_delete_removes_the_file_from_the_shared_folder(tmp_path, samba, smb_prefix, run_cli):
    write_tree(tmp_path / "src", {"tex/keep.png": b"keep", "tex/old/gone.png": b"gone"})
    url = samba.url(smb_prefix)
    assert run_cli("sync", tmp_path / "src" / "tex", "--to", url, env=samba.env).returncode == 0
    (tmp_path / "src" / "tex" / "old" / "gone.png").unlink()
    proc = run_cli("sync", tmp_path / "src" / "tex", "--to", url, "--delete", "--json", env=samba.env)
    assert proc.returncode == 0, proc.stderr
    assert set(share_files(samba, smb_prefix)) == {"tex/keep.png", "tex.manifest.json"}
