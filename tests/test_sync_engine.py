"""Incremental sync (what ``azrender sync`` does: content by hash, a head manifest per folder)
against both real stores: a local folder and a real Azurite.

Expected hashes are computed here with xxhash directly, never by the code under test; what the
store holds is read back as files through the head manifest and the ``content/`` objects it names.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import xxhash

from azrender.errors import StoreError
from azrender.layout import HASH_METADATA_KEY
from azrender.sync import engine
from azrender.sync.hashing import HashCache
from azrender.sync.stores import open_store
from conftest import ActsOnFirstUpload

BIG = 17 * 1024 * 1024 + 123  # above the single-request limit: goes up as staged blocks
OLD = 1_500_000_000_000_000_000  # an mtime well in the past: the hash cache keeps what it reads


def xxh(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


@pytest.fixture(params=["local", "azurite"])
def store(request, tmp_path):
    if request.param == "local":
        return open_store((tmp_path / "store").as_uri() + "/pre")
    azurite = request.getfixturevalue("azurite")
    container = request.getfixturevalue("container")
    return open_store(azurite.container_url(container, "pre"), connection_string=azurite.connection_string)


@pytest.fixture(autouse=True)
def own_cache_dir(tmp_path, monkeypatch):
    """Keep the process-wide hash cache and account memo out of the user's cache folder."""
    from azrender.sync import hashing

    monkeypatch.setenv("AZRENDER_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.setattr(hashing, "_default", None)


@pytest.fixture
def cache(tmp_path):
    return HashCache(tmp_path / "hashes.sqlite3")


def make_tree(root: Path) -> dict[str, bytes]:
    files = {f"tex/t{i:02d}.png": os.urandom(1000 + i) for i in range(12)}
    files["scene.blend"] = os.urandom(50_000)
    files["tex/normal.exr"] = os.urandom(1_500_000)  # read into a pooled buffer, sent in one request
    files["cache/sim.vdb"] = os.urandom(BIG)
    files["é space/ü.txt"] = b"unicode names"
    files["empty.txt"] = b""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, ns=(OLD, OLD))
    return files


def entries_of(root: Path, alias: str = "proj"):
    return sorted((p, f"{alias}/{p.relative_to(root).as_posix()}") for p in root.rglob("*") if p.is_file())


def stored(store) -> dict[str, str | None]:
    """The folder as the store holds it: each path of its head manifest with the hash recorded on
    the content object it names (None when that object is missing)."""
    from azrender.sync.manifest import Manifest

    objects = {o.key: o.content_hash for o in store.list()}
    if "proj.manifest.json" not in objects:
        return {}
    head = Manifest.from_bytes(store.read_bytes("proj.manifest.json"))
    return {f"proj/{e.key}": objects.get(f"content/{e.hash[:2]}/{e.hash}") for e in head.entries}


def sync(root, store, cache, **kw):
    """What ``azrender sync ROOT`` does: the whole folder by content, with its head manifest."""
    return engine.sync_folders(entries_of(root), store, folders={"proj"}, cache=cache, **kw)


def test_first_sync_stores_each_file_by_its_content_hash(tmp_path, store, cache):
    files = make_tree(tmp_path / "proj")
    files["tex/copy.png"] = files["tex/t03.png"]  # the same bytes twice: stored once
    (tmp_path / "proj" / "tex" / "copy.png").write_bytes(files["tex/copy.png"])
    result = sync(tmp_path / "proj", store, cache)
    assert (result.files, result.uploaded, result.skipped) == (len(files), len(files), 0)
    assert result.bytes_uploaded == sum(map(len, files.values())) - len(files["tex/copy.png"])
    assert stored(store) == {f"proj/{rel}": xxh(data) for rel, data in files.items()}
    objects = {o.key for o in store.list("content/")}
    assert objects == {f"content/{xxh(d)[:2]}/{xxh(d)}" for d in files.values()}
    assert len(objects) == len(files) - 1

    fetched = engine.download(store, tmp_path / "back", cache=cache)
    assert fetched.downloaded == len(files)
    for rel, data in files.items():
        assert (tmp_path / "back" / "proj" / rel).read_bytes() == data


def test_no_change_uploads_nothing(tmp_path, store, cache):
    make_tree(tmp_path / "proj")
    sync(tmp_path / "proj", store, cache)
    again = sync(tmp_path / "proj", store, cache)
    assert (again.uploaded, again.bytes_uploaded, again.skipped) == (0, 0, again.files)


def test_one_changed_byte_uploads_exactly_that_file(tmp_path, store, cache):
    files = make_tree(tmp_path / "proj")
    sync(tmp_path / "proj", store, cache)
    path = tmp_path / "proj" / "cache" / "sim.vdb"
    data = bytearray(files["cache/sim.vdb"])
    data[BIG // 2] ^= 0xFF  # same size; mtime may even stay within the same tick
    path.write_bytes(bytes(data))
    result = sync(tmp_path / "proj", store, cache)
    assert (result.uploaded, result.skipped) == (1, len(files) - 1)
    assert stored(store)["proj/cache/sim.vdb"] == xxh(bytes(data))
    engine.download(store, tmp_path / "back", cache=cache)
    assert (tmp_path / "back" / "proj" / "cache" / "sim.vdb").read_bytes() == bytes(data)


def test_touched_but_unchanged_files_are_not_uploaded(tmp_path, store, cache):
    make_tree(tmp_path / "proj")
    sync(tmp_path / "proj", store, cache)
    for path in (tmp_path / "proj").rglob("*"):
        os.utime(path, ns=(1_900_000_000_000_000_000, 1_900_000_000_000_000_000))  # a re-export
    result = sync(tmp_path / "proj", store, cache)
    assert (result.uploaded, result.bytes_uploaded) == (0, 0)


def test_new_and_deleted_files_deletion_only_when_asked(tmp_path, store, cache):
    files = make_tree(tmp_path / "proj")
    store.write_bytes("other/keep.txt", b"another root, never touched by proj's sync")
    sync(tmp_path / "proj", store, cache)
    (tmp_path / "proj" / "tex" / "t00.png").unlink()
    (tmp_path / "proj" / "new.txt").write_bytes(b"new")

    result = sync(tmp_path / "proj", store, cache)
    assert (result.uploaded, result.deleted) == (1, 0)
    assert stored(store)["proj/tex/t00.png"] == xxh(files["tex/t00.png"])
    assert stored(store)["proj/new.txt"] == xxh(b"new")

    result = sync(tmp_path / "proj", store, cache, delete=True)
    assert (result.uploaded, result.deleted) == (0, 1)
    assert "proj/tex/t00.png" not in stored(store) and stored(store)["proj/new.txt"] == xxh(b"new")
    assert store.read_bytes("other/keep.txt") == b"another root, never touched by proj's sync"


@pytest.mark.parametrize("rel", ["scene.blend", "tex/normal.exr", "cache/sim.vdb"])
def test_file_modified_during_upload_is_sent_again_with_its_new_hash(tmp_path, store, cache, rel):
    files = make_tree(tmp_path / "proj")
    from azrender.sync.hashing import hash_files

    hash_files([p for p, _ in entries_of(tmp_path / "proj")], cache=cache)  # known: sent without reading first
    new = os.urandom(len(files[rel]))
    victim = tmp_path / "proj" / rel
    wrapped = ActsOnFirstUpload(store, victim, lambda: victim.write_bytes(new))
    result = sync(tmp_path / "proj", wrapped, cache)
    assert wrapped.calls == 2 and result.uploaded == len(files)
    assert stored(store)[f"proj/{rel}"] == xxh(new)
    assert {e.key: e.hash for e in result.manifest.entries}[f"proj/{rel}"] == xxh(new)
    engine.download(store, tmp_path / "back", cache=cache)
    assert (tmp_path / "back" / "proj" / rel).read_bytes() == new
    assert sync(tmp_path / "proj", store, cache).uploaded == 0  # the cache did not keep the old hash


def test_download_skips_identical_files_and_replaces_changed_ones(tmp_path, store, cache):
    files = make_tree(tmp_path / "proj")
    sync(tmp_path / "proj", store, cache)
    engine.download(store, tmp_path / "back", prefix="proj", cache=cache)
    (tmp_path / "back" / "scene.blend").write_bytes(b"locally damaged")
    result = engine.download(store, tmp_path / "back", prefix="proj", cache=cache)
    assert (result.downloaded, result.skipped) == (1, len(files) - 1)
    assert (tmp_path / "back" / "scene.blend").read_bytes() == files["scene.blend"]


@pytest.mark.parametrize("state", ["corrupt", "deleted", "locked"])
def test_a_broken_hash_cache_costs_time_never_correctness(tmp_path, store, state):
    import sqlite3

    files = make_tree(tmp_path / "proj")
    db = tmp_path / "hashes.sqlite3"
    sync(tmp_path / "proj", store, HashCache(db))
    changed = bytearray(files["scene.blend"])
    changed[0] ^= 1
    (tmp_path / "proj" / "scene.blend").write_bytes(bytes(changed))
    holder = None
    if state == "corrupt":
        db.write_bytes(b"this is not a database" * 100)
    elif state == "deleted":
        db.unlink()
    else:
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    try:
        result = sync(tmp_path / "proj", store, HashCache(db))
    finally:
        if holder:
            holder.close()
    assert result.uploaded == 1
    assert stored(store)["proj/scene.blend"] == xxh(bytes(changed))


def test_azure_blobs_carry_the_hash_in_metadata_under_the_url_prefix(tmp_path, azurite, container, cache):
    store = open_store(azurite.container_url(container, "jobs/a"), connection_string=azurite.connection_string)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "a.txt").write_bytes(b"abc")
    sync(tmp_path / "proj", store, cache)
    blob = azurite.blob_service().get_blob_client(container, f"jobs/a/content/{xxh(b'abc')[:2]}/{xxh(b'abc')}")
    assert blob.get_blob_properties().metadata[HASH_METADATA_KEY] == xxh(b"abc")
    assert blob.download_blob().readall() == b"abc"


def test_unreachable_store_fails_clearly_naming_what_was_not_sent(tmp_path, monkeypatch, cache):
    from conftest import AZURITE_KEY, free_port

    monkeypatch.setenv("AZRENDER_STORE_RETRIES", "1")
    url = f"http://127.0.0.1:{free_port()}/devstoreaccount1/box"
    store = open_store(url, connection_string=f"AccountName=devstoreaccount1;AccountKey={AZURITE_KEY}")
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "a.txt").write_bytes(b"abc")
    with pytest.raises(StoreError) as err:
        sync(tmp_path / "proj", store, cache)
    assert "cannot reach" in str(err.value) and url in str(err.value)
    assert AZURITE_KEY not in str(err.value)


@pytest.fixture
def proxied(azurite, container):
    """The real Azurite behind a fault-injecting proxy; yields (proxy, store URL through it)."""
    from faultproxy import FaultProxy

    proxy = FaultProxy(azurite.port).start()
    yield proxy, f"http://127.0.0.1:{proxy.port}/{azurite.account}/{container}/pre"
    proxy.stop()


def test_throttling_and_dropped_connections_are_retried(tmp_path, proxied, cache, azurite, container):
    from faultproxy import Fault

    proxy, url = proxied
    store = open_store(url, connection_string=azurite.connection_string)
    files = make_tree(tmp_path / "proj")
    proxy.faults += [Fault(503, method="PUT", every=3, times=6), Fault(0, method="PUT", every=5, times=2),
                     Fault(500, method="GET", times=1)]
    result = sync(tmp_path / "proj", store, cache)
    assert result.uploaded == len(files) and proxy.injected() == 9
    direct = open_store(azurite.container_url(container, "pre"), connection_string=azurite.connection_string)
    assert stored(direct) == {f"proj/{rel}": xxh(data) for rel, data in files.items()}


def test_a_file_failing_after_retries_is_named_and_the_next_run_finishes(tmp_path, proxied, cache, monkeypatch):
    from faultproxy import Fault

    proxy, url = proxied
    monkeypatch.setenv("AZRENDER_STORE_RETRIES", "1")
    store = open_store(url)  # the emulator's well-known account needs no credentials
    files = make_tree(tmp_path / "proj")
    proxy.faults.append(Fault(503, method="PUT", path_contains=xxh(files["scene.blend"])))  # its content object
    with pytest.raises(engine.TransferError) as err:
        sync(tmp_path / "proj", store, cache)
    message = str(err.value)
    assert f"uploaded {len(files) - 1} of {len(files)} files" in message
    assert "1 not uploaded: proj/scene.blend: " in message and "503" in message
    assert err.value.result.failed == (err.value.result.failed[0],)
    assert store.stat("proj.manifest.json") is None  # no head for an incomplete folder

    proxy.faults.clear()
    again = sync(tmp_path / "proj", store, cache)
    assert (again.uploaded, again.skipped) == (1, len(files) - 1)
    assert stored(store)["proj/scene.blend"] == xxh(files["scene.blend"])


def test_a_container_sas_url_is_enough_to_sync(tmp_path, azurite, container, cache):
    from datetime import datetime, timedelta, timezone

    keyed = open_store(azurite.container_url(container, "pre"), connection_string=azurite.connection_string)
    sas_url = keyed.node_access_url("racwl", datetime.now(timezone.utc) + timedelta(hours=1))
    store = open_store(sas_url.replace(f"/{container}?", f"/{container}/pre?"))
    files = make_tree(tmp_path / "proj")
    assert sync(tmp_path / "proj", store, cache).uploaded == len(files)
    assert stored(keyed)["proj/scene.blend"] == xxh(files["scene.blend"])
    reader = open_store(keyed.node_access_url("rl", datetime.now(timezone.utc) + timedelta(hours=1)))
    with pytest.raises(StoreError, match="access denied"):
        reader.write_bytes("x.txt", b"x")


def test_outputs_written_by_others_are_fetched_once(tmp_path, azurite, container, cache):
    """Blobs without azrender's hash (Batch output files) compare by size and modification time."""
    client = azurite.blob_service().get_container_client(container)
    client.upload_blob("jobs/j1/outputs/frame_0001.png", b"png-1")
    client.upload_blob("jobs/j1/outputs/frame_0002.png", b"png-22")
    store = open_store(azurite.container_url(container), connection_string=azurite.connection_string)
    first = engine.download(store, tmp_path / "renders", prefix="jobs/j1/outputs", cache=cache)
    assert (first.downloaded, (tmp_path / "renders" / "frame_0002.png").read_bytes()) == (2, b"png-22")
    again = engine.download(store, tmp_path / "renders", prefix="jobs/j1/outputs", cache=cache)
    assert (again.downloaded, again.skipped) == (0, 2)
    time.sleep(1.1)  # Last-Modified has a one-second resolution
    client.upload_blob("jobs/j1/outputs/frame_0002.png", b"png-2b", overwrite=True)  # a retried task, same size
    third = engine.download(store, tmp_path / "renders", prefix="jobs/j1/outputs", cache=cache)
    assert third.downloaded == 1 and (tmp_path / "renders" / "frame_0002.png").read_bytes() == b"png-2b"


def test_fetch_retries_throttled_and_dropped_downloads(tmp_path, proxied, cache, azurite):
    from faultproxy import Fault

    proxy, url = proxied
    store = open_store(url, connection_string=azurite.connection_string)
    files = make_tree(tmp_path / "proj")
    sync(tmp_path / "proj", store, cache)
    proxy.faults += [Fault(503, method="GET", path_contains="/content/", times=3),
                     Fault(0, method="GET", path_contains=xxh(files["cache/sim.vdb"]), times=1)]
    result = engine.download(store, tmp_path / "back", prefix="proj", cache=cache)
    assert result.downloaded == len(files) and proxy.injected() == 4
    for rel, data in files.items():
        assert (tmp_path / "back" / rel).read_bytes() == data
