"""The sync stage's formats and rules: manifest bytes, safe names, store URLs, the hash cache."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
import xxhash

from azrender.errors import StoreError, UsageError
from azrender.sync import hashing, keys
from azrender.sync.manifest import Manifest, ManifestEntry, ManifestError
from azrender.sync.stores import open_store

ENTRIES = [ManifestEntry("tex/b.png", 3, 10, "b" * 32), ManifestEntry("a.blend", 5, 20, "a" * 32)]


def test_manifest_is_canonical_and_round_trips():
    data = Manifest.of(ENTRIES).to_bytes()
    assert data == Manifest.of(reversed(ENTRIES)).to_bytes()
    assert data.startswith(b'{"entries":[{"hash":"aaaa') and b'"version":2' in data and b" " not in data
    assert Manifest.from_bytes(data) == Manifest.of(ENTRIES)


@pytest.mark.parametrize("data,message", [
    (b"\xff\xfe", "not UTF-8 JSON"),
    (b"[]", "no 'version' field"),
    (b'{"version": 99, "entries": []}', "manifest version 99 is not supported"),
    (b'{"version": 1, "entries": [{"key": "a"}]}', "entry 0 needs key, size, mtime_ns and hash"),
    (b'{"version": 1, "entries": [{"key": "a", "size": "3", "mtime_ns": 1, "hash": "x"}]}', "malformed field"),
])
def test_malformed_manifests_are_refused_with_the_reason(data, message):
    with pytest.raises(ManifestError, match=message) as err:
        Manifest.from_bytes(data, source="manifests/job1.json")
    assert str(err.value).startswith("manifests/job1.json: ")


@pytest.mark.parametrize("key", ["a/b.png", "é/ü space.exr", "frames/0001.png", "a..b/c"])
def test_ordinary_names_are_safe(key):
    assert keys.unsafe_reason(key) is None


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "C:/x", "a/C:x", "a\\..\\x", "a\x00b", "a//b",
                                 "./a", ""])
def test_hostile_names_are_refused(key, tmp_path):
    assert keys.unsafe_reason(key)
    with pytest.raises(ValueError):
        keys.local_path(tmp_path, key)


@pytest.mark.parametrize("url,account_url,container,prefix", [
    ("https://acct.blob.core.windows.net/renders", "https://acct.blob.core.windows.net", "renders", ""),
    ("https://acct.blob.core.windows.net/renders/show/a%20b?sv=1&sig=abc", "https://acct.blob.core.windows.net",
     "renders", "show/a b"),
    ("http://127.0.0.1:10000/devstoreaccount1/box/p/q", "http://127.0.0.1:10000/devstoreaccount1", "box", "p/q"),
])
def test_blob_urls(url, account_url, container, prefix):
    store = open_store(url, credential="a2V5LWZvci1wYXJzaW5nLW9ubHk=")
    assert store.display_url == f"{account_url}/{container}" + (f"/{prefix}" if prefix else "")
    assert store.prefix == prefix and "sig" not in store.display_url


@pytest.mark.parametrize("url,message", [
    ("https://acct.blob.core.windows.net/", "names no container"),
    ("https://acct.blob.core.windows.net/Bad_Name", "not a valid container name"),
    ("ftp://host/x", "unsupported store URL"),
    ("http://10.1.2.3/otheraccount/box", "no credentials for a plain-http endpoint"),
])
def test_bad_store_urls_say_why(url, message):
    with pytest.raises(UsageError, match=message):
        open_store(url)


def test_an_account_key_that_is_not_base64_is_refused():
    with pytest.raises(UsageError, match="account key for 'acct' is not valid base64"):
        open_store("https://acct.blob.core.windows.net/box", credential="not base64!")


def test_connection_string_for_another_account_is_refused():
    with pytest.raises(UsageError, match="connection string is for account 'other'"):
        open_store("https://acct.blob.core.windows.net/box", connection_string="AccountName=other;AccountKey=eA==")


def test_node_access_url_is_a_container_sas_with_exactly_the_permissions(azurite, container, tmp_path):
    from azure.storage.blob import ContainerClient

    store = open_store(azurite.container_url(container, "p"), connection_string=azurite.connection_string)
    store.write_bytes("x.txt", b"x")
    read_url = store.node_access_url("rl", datetime.now(timezone.utc) + timedelta(hours=1))
    assert "sp=rl" in read_url and read_url.startswith(azurite.container_url(container) + "?")
    reader = ContainerClient.from_container_url(read_url)
    assert reader.download_blob("p/x.txt").readall() == b"x"
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError):
        reader.upload_blob("p/y.txt", b"y")
    assert open_store((tmp_path / "s").as_uri()).node_access_url("rl", datetime.now(timezone.utc)) == \
        (tmp_path / "s").as_uri()


def test_account_kind_is_read_once_per_account(azurite, container, tmp_path, monkeypatch):
    monkeypatch.setenv("AZRENDER_CACHE_DIR", str(tmp_path))
    store = open_store(azurite.container_url(container), connection_string=azurite.connection_string)
    info = store.describe_account()
    assert info is not None and info.kind == "StorageV2"
    assert '"kind": "StorageV2"' in (tmp_path / "accounts.json").read_text()


def test_hash_cache_answers_for_an_unchanged_file_without_reading_it(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"first")
    old = 1_600_000_000_000_000_000
    os.utime(path, ns=(old, old))
    cache = hashing.HashCache(tmp_path / "c.sqlite3")
    assert hashing.hash_files([path], cache=cache)[0].content_hash == xxhash.xxh3_128_hexdigest(b"first")
    # Same size, same mtime, same inode: the cache's key did not change, so the file is not read.
    with open(path, "r+b") as f:
        f.write(b"FIRST")
    os.utime(path, ns=(old, old))
    assert hashing.hash_files([path], cache=cache)[0].content_hash == xxhash.xxh3_128_hexdigest(b"first")
    os.utime(path, ns=(old + 1, old + 1))  # any change of the key: read again
    assert hashing.hash_files([path], cache=cache)[0].content_hash == xxhash.xxh3_128_hexdigest(b"FIRST")


@pytest.mark.parametrize("age,whole_seconds,cached", [
    (-1.0, False, False),  # modified "after" it was hashed (a share's clock ahead): could change unseen
    (0.3, False, True),  # sub-second mtimes tick every few ms: 0.3 s old is settled
    (0.3, True, False),  # whole-second mtimes (FAT, some shares) may tick every 2 s: not settled yet
])
def test_only_settled_files_are_cached(tmp_path, age, whole_seconds, cached):
    """A file modified within its filesystem's mtime tick could change again without its key
    changing; its hash is not kept."""
    import time

    path = tmp_path / "f.bin"
    path.write_bytes(b"now")
    mtime = time.time_ns() - int(age * 1e9)
    if whole_seconds:
        mtime -= mtime % 1_000_000_000
    os.utime(path, ns=(mtime, mtime))
    cache = hashing.HashCache(tmp_path / "c.sqlite3")
    hashing.hash_files([path], cache=cache)
    assert (cache.get_many([(str(path), hashing.FileState.of(path.stat()))]) != [None]) == cached


def test_missing_object_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_store((tmp_path / "s").as_uri()).read_bytes("nope.json")
