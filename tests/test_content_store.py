"""Content-addressed storage: each file's bytes stored once, by hash, whoever syncs them; the
no-change sync asks one question; gc frees what nothing needs, even while a sync runs; verify
repairs what another tool broke; a store in the older keyed layout keeps working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import xxhash

from azrender.sync import content, engine, gc
from azrender.sync.content import content_key
from azrender.sync.manifest import Manifest
from azrender.sync.stores import open_store
from conftest import cli_env

TEXTURE = b"\x89PNG shared texture" * 500


def digest(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def artist_env(tmp_path: Path, name: str, **extra) -> dict:
    """Each artist is another machine: own hash cache and own record of what they wrote."""
    return cli_env(AZRENDER_CACHE_DIR=str(tmp_path / name / "cache"), AZRENDER_CONFIG_DIR=str(tmp_path / name / "config"),
                   AZRENDER_STATE_DIR=str(tmp_path / name / "state"), **extra)


def azrender(*args, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "azrender", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def stored_content(container_client, prefix: str = "") -> dict[str, int]:
    return {b.name: b.size for b in container_client.list_blobs(name_starts_with=f"{prefix}content/")}


@pytest.mark.azurite
def test_two_artists_syncing_the_same_texture_store_it_once(tmp_path, azurite, container):
    url = azurite.container_url(container, "studio")
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    alice = tree(tmp_path / "alice" / "forest", {"tex/bark.png": TEXTURE, "scene.blend": b"alice's scene"})
    bob = tree(tmp_path / "bob" / "desert", {"maps/bark_copy.png": TEXTURE, "scene.blend": b"bob's scene"})
    first = json.loads(azrender("sync", alice, "--to", url, "--json", env=artist_env(tmp_path, "alice", **env)).stdout)
    second = json.loads(azrender("sync", bob, "--to", url, "--json", env=artist_env(tmp_path, "bob", **env)).stdout)
    assert (first["uploaded"], first["bytes_uploaded"]) == (2, len(TEXTURE) + len(b"alice's scene"))
    assert (second["uploaded"], second["bytes_uploaded"]) == (1, len(b"bob's scene"))  # the texture was there
    client = azurite.blob_service().get_container_client(container)
    assert stored_content(client, "studio/") == {f"studio/{content_key(digest(d))}": len(d)
                                                 for d in (TEXTURE, b"alice's scene", b"bob's scene")}
    # each artist's folder lists its own paths, both pointing at the one stored texture
    forest = Manifest.from_bytes(client.download_blob("studio/forest.manifest.json").readall())
    desert = Manifest.from_bytes(client.download_blob("studio/desert.manifest.json").readall())
    assert {e.key: e.hash for e in forest.entries}["tex/bark.png"] == digest(TEXTURE)
    assert {e.key: e.hash for e in desert.entries}["maps/bark_copy.png"] == digest(TEXTURE)
    back = tmp_path / "back"
    azrender("fetch", url, "--dest", back, env=artist_env(tmp_path, "carol", **env))
    assert (back / "desert" / "maps" / "bark_copy.png").read_bytes() == TEXTURE
    assert (back / "forest" / "scene.blend").read_bytes() == b"alice's scene"
    assert not (back / "content").exists()


@pytest.mark.azurite
def test_a_no_change_sync_asks_the_store_one_question(tmp_path, azurite, container, monkeypatch):
    from azrender.sync import blob_rest

    monkeypatch.setenv("AZRENDER_CACHE_DIR", str(tmp_path / "cache"))
    folder = tree(tmp_path / "proj", {f"d{i % 7}/f{i:03d}.bin": os.urandom(200) for i in range(150)})
    entries, folders = collect(folder)
    store = open_store(azurite.container_url(container), connection_string=azurite.connection_string)
    requests: list[tuple[str, str]] = []
    original = blob_rest.BlobContainer.request

    def counting(self, method, blob=None, **kw):
        requests.append((method, blob or ""))
        return original(self, method, blob, **kw)

    monkeypatch.setattr(blob_rest.BlobContainer, "request", counting)
    engine.sync_folders(entries, store, folders=folders)
    requests.clear()
    result = engine.sync_folders(entries, store, folders=folders)
    assert requests == [("HEAD", "proj.manifest.json")] and result.uploaded == 0

    # someone else rewrote the folder's manifest: this machine looks again, and sends only what is missing
    other = Manifest.from_bytes(store.read_bytes("proj.manifest.json"))
    store.write_bytes("proj.manifest.json", Manifest.of(other.entries[1:]).to_bytes())
    (folder / "d0" / "f000.bin").write_bytes(b"changed")
    entries, folders = collect(folder)
    requests.clear()
    result = engine.sync_folders(entries, store, folders=folders)
    assert result.uploaded == 1 and result.bytes_uploaded == len(b"changed")
    assert not any(method == "GET" and blob == "" for method, blob in requests)  # no listing: 2 stats, 1 put...
    assert len(requests) < 10, requests


def collect(folder: Path):
    from azrender.sync.entries import collect_entries

    return collect_entries([str(folder)])


def test_a_second_version_with_one_percent_changed_adds_only_those_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("AZRENDER_CACHE_DIR", str(tmp_path / "cache"))
    files = {f"f{i:03d}.bin": os.urandom(1000 + i) for i in range(200)}
    folder = tree(tmp_path / "shot", files)
    store = open_store((tmp_path / "store").as_uri())
    sync(folder, store)
    before = sum(p.stat().st_size for p in (tmp_path / "store" / "content").rglob("*") if p.is_file())
    for rel in ("f010.bin", "f150.bin"):  # 1 %
        (folder / rel).write_bytes(os.urandom(len(files[rel])))
    result = sync(folder, store)
    after = sum(p.stat().st_size for p in (tmp_path / "store" / "content").rglob("*") if p.is_file())
    assert result.uploaded == 2 and after - before == len(files["f010.bin"]) + len(files["f150.bin"])
    assert (after - before) / before <= 0.02


def sync(folder: Path, store):
    entries, folders = collect(folder)
    return engine.sync_folders(entries, store, folders=folders)


def test_gc_frees_what_no_manifest_needs_and_says_how_much(tmp_path, run_cli):
    store_dir = tmp_path / "store"
    folder = tree(tmp_path / "proj", {"keep.png": b"k" * 100, "old.png": b"o" * 300})
    assert run_cli("sync", folder, "--to", store_dir.as_uri()).returncode == 0
    (folder / "old.png").unlink()
    assert run_cli("sync", folder, "--to", store_dir.as_uri(), "--delete").returncode == 0
    orphan = store_dir / content_key(digest(b"o" * 300))
    assert orphan.exists()
    dry = run_cli("gc", store_dir.as_uri(), "--older-than", "0s", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["would_free_bytes"] == 300 and orphan.exists()
    # within retention: young content is kept
    assert json.loads(run_cli("gc", store_dir.as_uri(), "--json").stdout)["deleted"] == 0
    done = run_cli("gc", store_dir.as_uri(), "--older-than", "0s")
    assert done.returncode == 0 and "deleted 1 stored files, freed 300 bytes" in done.stdout, done.stdout
    assert not orphan.exists() and (store_dir / content_key(digest(b"k" * 100))).read_bytes() == b"k" * 100
    bad = run_cli("gc", store_dir.as_uri(), "--older-than", "soon")
    assert bad.returncode == 2 and "--older-than 'soon'" in bad.stderr


def _age(store_dir: Path, days: float) -> None:
    stamp = time.time() - days * 86400
    for path in (store_dir / "content").rglob("*"):
        if path.is_file():
            os.utime(path, (stamp, stamp))


def _assert_everything_listed_is_stored(store_dir: Path) -> None:
    for head in store_dir.glob("*.manifest.json"):
        for e in Manifest.from_bytes(head.read_bytes()).entries:
            stored = store_dir / content_key(e.hash)
            assert stored.exists(), f"{head.name}: {e.key} lost"
            assert digest(stored.read_bytes()) == e.hash


def test_gc_between_a_syncs_decision_and_its_manifest_loses_nothing(tmp_path, monkeypatch):
    """The worst moment: a whole gc runs after the sync decided the store holds its files and
    before it wrote the manifest that needs them."""
    monkeypatch.setenv("AZRENDER_CACHE_DIR", str(tmp_path / "cache"))
    folder = tree(tmp_path / "proj", {f"f{i}.png": f"texture {i}".encode() for i in range(20)})
    store_dir = tmp_path / "store"
    store = open_store(store_dir.as_uri())
    sync(folder, store)
    (store_dir / "proj.manifest.json").unlink()  # nothing references the content any more...
    _age(store_dir, 40)  # ...and it is old: gc will delete every file
    decided = content.present
    collected = []

    def decide_then_gc(*args, **kw):
        held = decided(*args, **kw)
        if not collected:  # once: the sync asks again afterwards, to check what gc kept
            collected.append(gc.collect(store, older_than=timedelta(days=30)))
            assert collected[0].deleted == 20
        return held

    monkeypatch.setattr(content, "present", decide_then_gc)
    result = sync(folder, store)
    assert result.uploaded == 0  # it believed the store held everything
    monkeypatch.setattr(content, "present", decided)
    _assert_everything_listed_is_stored(store_dir)  # ...and put back what gc took meanwhile


def test_gc_and_sync_running_at_once_lose_nothing(tmp_path):
    folder = tree(tmp_path / "proj", {f"d{i % 10}/f{i:04d}.png": f"texture {i}".encode() * 20 for i in range(600)})
    store_dir = tmp_path / "store"
    env = artist_env(tmp_path, "artist")
    azrender("sync", folder, "--to", store_dir.as_uri(), env=env)
    for round_ in range(3):
        (store_dir / "proj.manifest.json").unlink()
        _age(store_dir, 40)
        for i in range(round_ * 7, 600, 50):  # some files new as well: uploaded while gc runs
            (folder / f"d{i % 10}" / f"f{i:04d}.png").write_bytes(f"new {round_} {i}".encode())
        sync = subprocess.Popen([sys.executable, "-m", "azrender", "sync", str(folder), "--to", store_dir.as_uri()],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.1 * round_)
        collect_proc = azrender("gc", store_dir.as_uri(), "--older-than", "30d", env=env, check=False)
        out, err = sync.communicate(timeout=300)
        assert sync.returncode == 0, err
        assert collect_proc.returncode in (0, 4), collect_proc.stderr
        _assert_everything_listed_is_stored(store_dir)


@pytest.mark.azurite
def test_sync_verify_finds_and_repairs_what_another_tool_broke(tmp_path, azurite, container, run_cli):
    url = azurite.container_url(container)
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    files = {"a.png": b"a" * 1000, "b.png": b"b" * 1000, "c.png": b"c" * 1000}
    folder = tree(tmp_path / "proj", files)
    assert run_cli("sync", folder, "--to", url, env=env).returncode == 0
    client = azurite.blob_service().get_container_client(container)
    client.upload_blob(content_key(digest(files["a.png"])), b"x" * 1000, overwrite=True)  # foreign: no hash
    client.upload_blob(content_key(digest(files["b.png"])), b"y" * 1000, overwrite=True,  # its hash lies
                       metadata={"azrender_xxh3": digest(files["b.png"])})
    client.delete_blob(content_key(digest(files["c.png"])))
    proc = run_cli("sync", folder, "--to", url, "--verify", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"checked": 3, "repaired": ["proj/a.png", "proj/b.png", "proj/c.png"],
                                       "unrepairable": []}
    for rel, data in files.items():
        assert client.download_blob(content_key(digest(data))).readall() == data
    again = run_cli("sync", folder, "--to", url, "--verify", env=env)
    assert "3 stored files" in again.stdout and "0 repaired" in again.stdout
    # bytes nobody has any more: named, exit 4
    (folder / "a.png").unlink()
    client.upload_blob(content_key(digest(files["a.png"])), b"z", overwrite=True)
    lost = run_cli("sync", tmp_path / "proj" / "b.png", "--to", url, "--verify", env=env)
    assert lost.returncode == 4 and "proj/a.png" in lost.stderr and "no local file" in lost.stderr


def older_store(store_dir: Path) -> dict[str, bytes]:
    """A store as earlier azrender wrote it: ``proj/<path>`` blobs and a version 1 manifest beside them."""
    old = {"tex/a.png": b"a" * 10, "scene.blend": b"scene"}
    tree(store_dir / "proj", old)
    v1 = {"version": 1, "entries": [{"key": k, "size": len(d), "mtime_ns": 1, "hash": digest(d)} for k, d in old.items()]}
    (store_dir / "proj.manifest.json").write_text(json.dumps(v1))
    return old


def test_a_store_in_the_older_keyed_layout_keeps_working(tmp_path, run_cli):
    store_dir = tmp_path / "store"
    old = older_store(store_dir)
    folder = tree(tmp_path / "proj", {**old, "tex/new.png": b"new"})
    proc = run_cli("sync", folder, "--to", store_dir.as_uri(), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["uploaded"] == 3  # the old blobs are not content: stored once more
    head = Manifest.from_bytes((store_dir / "proj.manifest.json").read_bytes())
    assert head.version == 2 and len(head.entries) == 3
    back = tmp_path / "back"
    assert run_cli("fetch", store_dir.as_uri(), "--dest", back).returncode == 0
    assert (back / "proj" / "tex" / "new.png").read_bytes() == b"new"
    assert run_cli("gc", store_dir.as_uri(), "--older-than", "0s").returncode == 0
    assert (store_dir / "proj" / "tex" / "a.png").read_bytes() == b"a" * 10  # gc never touches what it did not write


def test_migrate_moves_an_older_store_in_one_command_and_nothing_is_uploaded_again(tmp_path, run_cli):
    store_dir = tmp_path / "store"
    old = older_store(store_dir)
    dry = run_cli("migrate", store_dir.as_uri(), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["copied"] == 2 and not (store_dir / "content").exists()
    done = run_cli("migrate", store_dir.as_uri(), "--delete-old")
    assert done.returncode == 0 and "copied 2 stored files" in done.stdout, done.stdout + done.stderr
    assert not (store_dir / "proj").exists()
    assert Manifest.from_bytes((store_dir / "proj.manifest.json").read_bytes()).version == 2
    folder = tree(tmp_path / "proj", old)
    again = json.loads(run_cli("sync", folder, "--to", store_dir.as_uri(), "--json").stdout)
    assert again["uploaded"] == 0
