"""Sync and fetch under injected faults, against a real Azurite and the local folder store: the
process killed at seeded random points, Azurite stopped and restarted mid-upload, slow and hung
responses, files deleted or unreadable after hashing, overlapping syncs at once.

Already covered elsewhere (not repeated here): one kill mid-block-upload with block reuse
(test_sync_cli), 500/503 and dropped connections, a file failing after retries, a file rewritten
during upload, a corrupt / deleted / locked hash cache (test_sync_engine).

Expected hashes are computed here with xxhash directly, never by the code under test.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xxhash

from conftest import ActsOnFirstUpload, Azurite, azurite_binary, cli_env, free_port, require
from test_sync_engine import proxied  # noqa: F401  (Azurite behind tests/faultproxy.py, under the prefix pre/)

PARTIAL = ".azrender-partial-"
BIG = 10 * 1024 * 1024  # above the single-request limit: staged blocks on Azure


def xxh(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def make_tree(root: Path, seed: int, *, files: int = 60, big: int = 2) -> dict[str, bytes]:
    rng = random.Random(seed)
    tree = {f"tex/t{i:03d}.png": rng.randbytes(rng.randint(0, 300_000)) for i in range(files)}
    tree.update({f"cache/sim{i}.vdb": rng.randbytes(BIG + rng.randint(1, 3_000_000)) for i in range(big)})
    tree["scene.blend"] = rng.randbytes(400_000)
    for rel, data in tree.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return tree


# A local disk moves 45 MB in a tenth of a second, too fast to interrupt at a chosen point: this
# runs the real CLI with every 1 MiB chunk read from a file, or hashed as it is downloaded, slowed
# as on a busy network share.
SLOW_DISK = """
import sys, time
from azrender.sync import hashing
real_read, real_hasher = hashing.read_verified, hashing.new_hasher
def slow_read(*args, **kw):
    for chunk in real_read(*args, **kw):
        time.sleep(0.05)
        yield chunk
class SlowHasher:
    def __init__(self):
        self.real = real_hasher()
    def update(self, chunk):
        time.sleep(0.05)
        self.real.update(chunk)
    def hexdigest(self):
        return self.real.hexdigest()
hashing.read_verified, hashing.new_hasher = slow_read, SlowHasher
from azrender.cli import main
sys.exit(main(sys.argv[1:]))
"""


def spawn(args, env: dict, *, slow_disk: bool = False) -> subprocess.Popen:
    launcher = ["-c", SLOW_DISK] if slow_disk else ["-m", "azrender"]
    return subprocess.Popen([sys.executable, *launcher, *map(str, args)], env=cli_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_clean_failure(stderr: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert any(line.startswith("azrender ") and ": error: " in line for line in lines), stderr


def azure_objects(azurite: Azurite, container: str, prefix: str = "") -> dict[str, bytes]:
    """Every committed blob under ``prefix``; asserts each one's recorded hash is its bytes' hash."""
    client = azurite.blob_service().get_container_client(container)
    found = {}
    for blob in client.list_blobs(name_starts_with=prefix, include=["metadata"]):
        data = client.download_blob(blob.name).readall()
        recorded = (blob.metadata or {}).get("azrender_xxh3")
        assert recorded == xxh(data), f"{blob.name}: metadata hash {recorded} does not match its bytes"
        found[blob.name[len(prefix):]] = data
    return found


def folder_objects(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (partial files too: a finished run leaves none behind)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def expected_store(tree: dict[str, bytes], alias: str = "proj") -> dict[str, bytes]:
    return {f"{alias}/{rel}": data for rel, data in tree.items()}


def without_manifests(objects: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in objects.items() if not k.endswith(".manifest.json")}


def stored_files(objects: dict[str, bytes]) -> dict[str, bytes]:
    """What a content-addressed store holds as files: every path of every folder manifest, with the
    bytes of the content it names. Each content object's bytes hash to its name."""
    from azrender.sync.content import content_key, digest_of
    from azrender.sync.manifest import Manifest

    for key, data in objects.items():
        if key.startswith("content/"):
            assert digest_of(key) == xxh(data), f"{key}: its bytes are not what its name says"
    files = {}
    for key, data in objects.items():
        if "/" not in key and key.endswith(".manifest.json"):
            for e in Manifest.from_bytes(data).entries:
                files[f"{key[:-len('.manifest.json')]}/{e.key}"] = objects[content_key(e.hash)]
    return files


@pytest.fixture(autouse=True)
def own_dirs(tmp_path, monkeypatch):
    from azrender.sync import hashing

    monkeypatch.setenv("AZRENDER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(hashing, "_default", None)


# ---- SIGKILL at seeded random points, then rerun --------------------------------------------------


def kill_repeatedly(args, env, seed: int, points: int, *, earliest: float, latest: float,
                    between=None, slow_disk: bool = False) -> int:
    """Run ``azrender ARGS`` ``points`` times, each SIGKILLed after a seeded random delay (and
    ``between(rng)`` after each); returns how many runs were really killed (others finished first)."""
    rng = random.Random(seed)
    killed = 0
    for _ in range(points):
        proc = spawn(args, env, slow_disk=slow_disk)
        time.sleep(rng.uniform(earliest, latest))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        killed += proc.returncode == -signal.SIGKILL
        if between:
            between(rng)
    return killed


def keep_editing(root: Path, tree: dict[str, bytes]):
    """Between runs an artist saves again: a seeded third of the files get new content."""

    def edit(rng: random.Random) -> None:
        for rel in rng.sample(sorted(tree), len(tree) // 3):
            tree[rel] = rng.randbytes(len(tree[rel]) or 1)
            (root / rel).write_bytes(tree[rel])

    return edit


@pytest.mark.parametrize("seed", [1, 2])
def test_sync_killed_at_random_points_then_rerun_stores_exactly_the_source_local(tmp_path, seed):
    tree = make_tree(tmp_path / "proj", seed, big=3)
    store_root = tmp_path / "store"
    env = {"AZRENDER_CACHE_DIR": str(tmp_path / "cache")}
    killed = kill_repeatedly(["sync", tmp_path / "proj", "--to", store_root.as_uri(), "--workers", "4"], env, seed, 5,
                             earliest=0.2, latest=1.0, between=keep_editing(tmp_path / "proj", tree), slow_disk=True)
    assert killed >= 3, "too few runs were interrupted to test anything"
    final = spawn(["sync", tmp_path / "proj", "--to", store_root.as_uri(), "--json"], env)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    objects = folder_objects(store_root)
    partials = [k for k in objects if PARTIAL in k]
    assert not partials, f"interrupted writes left behind in the store: {partials}"
    assert stored_files(objects) == expected_store(tree)
    assert json.loads(out)["files"] == len(tree)


@pytest.mark.azurite
@pytest.mark.parametrize("seed", [3, 4])
def test_sync_killed_at_random_points_then_rerun_stores_exactly_the_source_azurite(tmp_path, azurite, container, seed):
    tree = make_tree(tmp_path / "proj", seed)
    env = {"AZRENDER_CACHE_DIR": str(tmp_path / "cache"), "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    url = azurite.container_url(container)
    killed = kill_repeatedly(["sync", tmp_path / "proj", "--to", url, "--workers", "4"], env, seed, 4,
                             earliest=0.3, latest=1.5, between=keep_editing(tmp_path / "proj", tree), slow_disk=True)
    assert killed >= 2, "too few runs were interrupted to test anything"
    # after the kills: whatever is committed carries the hash of its own bytes (checked in azure_objects)
    assert all(key.startswith(("content/", "proj.")) for key in azure_objects(azurite, container))
    final = spawn(["sync", tmp_path / "proj", "--to", url, "--json"], env)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    assert stored_files(azure_objects(azurite, container)) == expected_store(tree)


@pytest.fixture(params=["local", "azurite"])
def cli_store(request, tmp_path):
    """(store URL, CLI environment, reader of every stored object) for a folder store or Azurite."""
    env = {"AZRENDER_CACHE_DIR": str(tmp_path / "cache")}
    if request.param == "local":
        return (tmp_path / "store").as_uri(), env, lambda: folder_objects(tmp_path / "store")
    azurite, container = request.getfixturevalue("azurite"), request.getfixturevalue("container")
    env["AZURE_STORAGE_CONNECTION_STRING"] = azurite.connection_string
    return azurite.container_url(container), env, lambda: azure_objects(azurite, container)


def test_fetch_killed_at_random_points_then_rerun_writes_exactly_the_store(tmp_path, cli_store):
    tree = make_tree(tmp_path / "proj", 7, files=40)
    url, env, _ = cli_store
    done = spawn(["sync", tmp_path / "proj", "--to", url], env)
    assert done.wait(120) == 0, done.stderr.read()
    dest = tmp_path / "back"

    def clear_some(rng: random.Random) -> None:  # someone tidies the folder: there is work again
        done = sorted(p for p in dest.rglob("*") if p.is_file() and PARTIAL not in p.name)
        for path in rng.sample(done, len(done) // 2):
            path.unlink()

    killed = kill_repeatedly(["fetch", url, "--dest", dest, "--workers", "4"], env, 11, 4, earliest=0.2, latest=1.0,
                             slow_disk=True, between=clear_some)
    assert killed >= 2, "too few runs were interrupted to test anything"
    final = spawn(["fetch", url, "--dest", dest], env)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    got = folder_objects(dest)
    assert not [k for k in got if PARTIAL in k], "interrupted downloads left partial files in the destination"
    assert without_manifests(got) == expected_store(tree)


# ---- Azurite stopped mid-upload and restarted -----------------------------------------------------


@pytest.mark.azurite
def test_azurite_stopped_mid_upload_and_restarted(tmp_path):
    require(azurite_binary() is not None, "Azurite (npm install)")
    server = Azurite(tmp_path / "azurite-own", port=free_port()).start()
    try:
        server.blob_service().create_container("box")
        tree = make_tree(tmp_path / "proj", 21, big=3)
        url = server.container_url("box")
        env = {"AZRENDER_CACHE_DIR": str(tmp_path / "cache"), "AZURE_STORAGE_CONNECTION_STRING": server.connection_string,
               "AZRENDER_STORE_RETRIES": "8", "AZRENDER_STORE_BACKOFF": "0.1"}  # 0.1+0.2+...+12.8 s: outlives the outage
        started = time.monotonic()
        proc = spawn(["sync", tmp_path / "proj", "--to", url, "--workers", "4"], env, slow_disk=True)
        time.sleep(1.0)
        server.stop()  # mid-upload: on the slowed disk the upload takes several seconds
        assert proc.poll() is None, "the sync finished before Azurite was stopped"
        time.sleep(3.0)
        server.start()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err  # retried through the outage: nothing left for a rerun
        assert time.monotonic() - started < 60
        assert stored_files(azure_objects(server, "box")) == expected_store(tree)
    finally:
        server.stop()


# ---- slow and hung responses ----------------------------------------------------------------------


def test_late_answers_time_out_and_are_retried_both_ways(tmp_path, proxied, azurite, container, monkeypatch):  # noqa: F811
    from faultproxy import Fault

    from azrender.sync import engine
    from azrender.sync.stores import open_store

    proxy, url = proxied
    monkeypatch.setenv("AZRENDER_STORE_TIMEOUT", "1")
    tree = make_tree(tmp_path / "proj", 5, files=20, big=1)
    # some answers come past the timeout (retried), some slow but in time
    proxy.faults += [Fault(None, method="PUT", every=4, times=3, delay=2.5), Fault(None, every=3, times=6, delay=0.4),
                     Fault(None, method="GET", times=1, delay=2.5)]
    started = time.monotonic()
    result = engine.sync_folders(entries_of(tmp_path / "proj"), open_store(url, connection_string=azurite.connection_string))
    assert result.uploaded == len(tree) and proxy.injected() == 10
    assert stored_files(azure_objects(azurite, container, "pre/")) == expected_store(tree)

    proxy.faults[:] = [Fault(None, method="GET", every=4, times=4, delay=2.5)]
    fetched = engine.download(open_store(url, connection_string=azurite.connection_string), tmp_path / "back")
    assert fetched.downloaded == len(tree) and proxy.injected() == 4
    got = folder_objects(tmp_path / "back")
    assert got == expected_store(tree), "a late answer left a file missing or partial"
    assert time.monotonic() - started < 90


def test_a_hung_store_fails_clearly_within_bounded_time(tmp_path, proxied, azurite, run_cli):  # noqa: F811
    from faultproxy import Fault

    proxy, url = proxied
    proxy.faults.append(Fault(None, delay=20))  # every request hangs far past the timeout
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "a.txt").write_bytes(b"abc")
    started = time.monotonic()
    proc = run_cli("sync", tmp_path / "proj", "--to", url, timeout=60,
                   env={"AZRENDER_STORE_TIMEOUT": "1", "AZRENDER_STORE_RETRIES": "2",
                        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string})
    assert time.monotonic() - started < 30
    assert proc.returncode == 4, proc.stderr
    assert_clean_failure(proc.stderr)
    assert "cannot reach" in proc.stderr and azurite.key not in proc.stderr


# ---- files deleted or unreadable between hashing and upload -------------------------------------


@pytest.fixture(params=["local", "azurite"])
def store(request, tmp_path):
    from azrender.sync.stores import open_store

    if request.param == "local":
        return open_store((tmp_path / "store").as_uri())
    azurite, container = request.getfixturevalue("azurite"), request.getfixturevalue("container")
    return open_store(azurite.container_url(container), connection_string=azurite.connection_string)


def entries_of(root: Path):
    return sorted((p, f"proj/{p.relative_to(root).as_posix()}") for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("fault", ["deleted", "unreadable"])
@pytest.mark.parametrize("rel", ["scene.blend", "cache/sim0.vdb"])
def test_file_deleted_or_unreadable_after_hashing_is_named_and_the_rest_is_stored(tmp_path, store, monkeypatch, fault, rel):
    from azrender.sync import engine, hashing

    tree = make_tree(tmp_path / "proj", 9, files=10, big=1)
    paths = [p for p, _ in entries_of(tmp_path / "proj")]
    for path in paths:  # hashed earlier (old enough for the hash cache): sent without being read first
        os.utime(path, ns=(1_500_000_000_000_000_000,) * 2)
    hashing.hash_files(paths)
    victim = tmp_path / "proj" / rel
    if fault == "deleted":
        act = victim.unlink
    else:  # as the OS does for a file whose permissions changed (tests may run as root, where chmod cannot)
        def refusing(real):
            def read(path, *a, **kw):
                if Path(path) == victim:
                    raise PermissionError(13, "Permission denied", str(path))
                return real(path, *a, **kw)
            return read

        def act():  # every reader of file content the stores use
            for name in ("read_verified", "read_once"):
                monkeypatch.setattr(hashing, name, refusing(getattr(hashing, name)))
    wrapped = ActsOnFirstUpload(store, victim, act)
    with pytest.raises(engine.TransferError) as err:
        engine.sync_folders(entries_of(tmp_path / "proj"), wrapped, folders={"proj"})
    message = str(err.value)
    assert f"1 not uploaded: proj/{rel}: " in message
    assert ("No such file" if fault == "deleted" else "Permission denied") in message
    listing = {o.key: o.content_hash for o in store.list()}
    assert "proj.manifest.json" not in listing  # no head for a partial folder
    stored = {k for k in listing if k.startswith("content/")}
    assert stored == {f"content/{xxh(d)[:2]}/{xxh(d)}" for other, d in tree.items() if other != rel}
    monkeypatch.undo()
    if fault == "unreadable":  # readable again: the next run sends exactly that file
        again = engine.sync_folders(entries_of(tmp_path / "proj"), store, folders={"proj"})
        assert (again.uploaded, again.skipped) == (1, len(tree) - 1)
        assert {o.key: o.content_hash for o in store.list()}[f"content/{xxh(tree[rel])[:2]}/{xxh(tree[rel])}"] \
            == xxh(tree[rel])


# ---- a hash cache locked by another process; two overlapping syncs at once ----------------------


def test_hash_cache_locked_by_another_process_costs_time_not_correctness(tmp_path, run_cli):
    tree = make_tree(tmp_path / "proj", 13, files=10, big=0)
    url = (tmp_path / "store").as_uri()
    assert run_cli("sync", tmp_path / "proj", "--to", url).returncode == 0
    (tmp_path / "proj" / "scene.blend").write_bytes(b"changed while the cache is locked")
    db = next((tmp_path / "cache").rglob("*.sqlite3"))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        f"db = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
        "db.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = run_cli("sync", tmp_path / "proj", "--to", url, "--json", timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["uploaded"] == 1
    tree["scene.blend"] = b"changed while the cache is locked"
    assert stored_files(folder_objects(tmp_path / "store")) == expected_store(tree)


def test_two_overlapping_syncs_at_once_both_succeed_and_agree(tmp_path, cli_store):
    tree = make_tree(tmp_path / "proj", 17, files=50, big=1)
    other = make_tree(tmp_path / "proj2", 18, files=20, big=0)
    url, env, stored_objects = cli_store  # both runs share one hash cache as well
    runs = [spawn(["sync", tmp_path / "proj", "--to", url, "--json"], env),
            spawn(["sync", tmp_path / "proj", tmp_path / "proj2", "--to", url, "--json"], env)]
    outputs = [proc.communicate(timeout=180) for proc in runs]
    for proc, (out, err) in zip(runs, outputs):
        assert proc.returncode == 0, err
    expected = {**expected_store(tree), **expected_store(other, "proj2")}
    objects = stored_objects()
    assert stored_files(objects) == expected
    from azrender.sync.manifest import Manifest

    manifest = Manifest.from_bytes(objects["proj.manifest.json"])
    assert {e.key: e.hash for e in manifest.entries} == {rel: xxh(data) for rel, data in tree.items()}


def test_a_live_transfers_partial_file_is_never_swept_a_dead_ones_is(tmp_path):
    from azrender.sync.partial import partial_path, remove_orphaned_partials, writing_partial

    dead = partial_path(tmp_path / "b.exr")
    dead.write_bytes(b"left by a killed process")  # nobody holds it
    with writing_partial(tmp_path / "a.exr") as out:
        out.write(b"half")
        out.flush()
        # another process sweeping the same folder meanwhile
        swept = subprocess.run([sys.executable, "-c", "from pathlib import Path; "
                                "from azrender.sync.partial import remove_orphaned_partials as r; "
                                f"print(r(Path({str(tmp_path)!r})))"], env=cli_env(), capture_output=True, text=True)
        assert swept.stdout.strip() == "1", swept.stderr
        assert not dead.exists()
        out.write(b" and the rest")
    assert (tmp_path / "a.exr").read_bytes() == b"half and the rest"
    assert remove_orphaned_partials(tmp_path) == 0 and [p.name for p in tmp_path.iterdir()] == ["a.exr"]


def test_a_partial_file_swept_before_its_writer_locked_it_is_started_again(tmp_path, monkeypatch):
    """The window between creating a partial file and locking it: when a sweeper wins it, the
    writer starts over under a new name instead of writing into a removed file."""
    import fcntl

    from azrender.sync import partial

    swept = []

    class SweeperWinsTheWindow:
        LOCK_EX, LOCK_NB = fcntl.LOCK_EX, fcntl.LOCK_NB

        def flock(self, fd, operation):
            if operation == fcntl.LOCK_EX and not swept:  # the writer, about to lock its new file
                swept.append(partial.remove_orphaned_partials(tmp_path))
            return fcntl.flock(fd, operation)

    monkeypatch.setattr(partial, "fcntl", SweeperWinsTheWindow())
    with partial.writing_partial(tmp_path / "a.exr") as out:
        out.write(b"whole")
    assert swept == [1], "the sweeper did not take the unlocked new file"
    assert (tmp_path / "a.exr").read_bytes() == b"whole" and [p.name for p in tmp_path.iterdir()] == ["a.exr"]
