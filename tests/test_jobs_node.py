"""The node tool's preparation and release tasks, run for real (the zipapp under python3) against
a local-folder store and a real Azurite container."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import xxhash

from azrender import layout
from azrender.jobs.nodetool import build_node_tool
from azrender.sync.content import content_key


@pytest.fixture(scope="module")
def tool(tmp_path_factory):
    path = tmp_path_factory.mktemp("tool") / "azrender_node.pyz"
    path.write_bytes(build_node_tool())
    return path


def digest(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def manifest(path, files: dict[str, bytes], alias="proj"):
    """A submission manifest as the sync stage writes it."""
    doc = {"version": 2, "entries": [{"key": layout.asset_key(alias, rel), "size": len(data), "mtime_ns": 1,
                                      "hash": digest(data)} for rel, data in files.items()]}
    path.write_text(json.dumps(doc))
    return path


def prep(tool, root, store_url, manifest_path, job, *extra, sas=None):
    """Run the tool's ``prep`` as Batch does: the store's SAS in its environment, never an argument."""
    argv = [sys.executable, str(tool), "prep", "--store", store_url, "--manifest", str(manifest_path),
            "--job", job, "--root", str(root), "--view", str(view_of(root, job)), "--reserve", "0", "--json", *extra]
    env = {k: v for k, v in os.environ.items() if k != "AZRENDER_STORE_SAS"}
    if sas:
        env["AZRENDER_STORE_SAS"] = sas
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    summary = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else None
    return proc, summary


def view_of(root, job):
    """Where a job's view is built in these tests (on a node: its preparation task's folder)."""
    return root.parent / "prep" / job / "view"


def cached(root, data: bytes):
    return root / content_key(digest(data))


def release(tool, root, job):
    return subprocess.run([sys.executable, str(tool), "release", "--job", job, "--root", str(root)],
                          capture_output=True, text=True, timeout=60)


class FolderStore:
    def __init__(self, root):
        self.root = root

    @property
    def url(self):
        return self.root.as_uri()

    def put(self, rel, data, alias="proj"):
        path = self.root / content_key(digest(data))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


FILES = {"scene.blend": b"BLENDER" * 100, "tex/wood grain é.png": b"\x89PNG" + b"w" * 500, "tex/metal.png": b"m" * 300}


def filled_store(tmp_path):
    """A folder store holding FILES, and an empty node cache root."""
    store = FolderStore(tmp_path / "store")
    for rel, data in FILES.items():
        store.put(rel, data)
    return store, tmp_path / "node" / "azrender"


def test_folder_store_second_run_downloads_nothing_and_a_changed_file_alone(tool, tmp_path):
    store, root = filled_store(tmp_path)
    m = manifest(tmp_path / "m.json", FILES)

    proc, first = prep(tool, root, store.url, m, "job1")
    assert proc.returncode == 0, proc.stderr
    assert first["downloaded"] == 3
    for rel, data in FILES.items():
        assert (view_of(root, "job1") / "assets" / "proj" / rel).read_bytes() == data
        assert cached(root, data).read_bytes() == data
    assert (root / "jobs" / "job1" / "manifest.json").exists()

    proc, again = prep(tool, root, store.url, m, "job1")
    assert proc.returncode == 0 and again["downloaded"] == 0 and again["bytes_downloaded"] == 0

    changed = dict(FILES, **{"tex/metal.png": b"M" * 301})
    store.put("tex/metal.png", changed["tex/metal.png"])
    proc, third = prep(tool, root, store.url, manifest(tmp_path / "m2.json", changed), "job2")
    assert proc.returncode == 0, proc.stderr
    assert third["downloaded"] == 1 and third["bytes_downloaded"] == 301
    assert (view_of(root, "job2") / "assets" / "proj" / "tex" / "metal.png").read_bytes() == b"M" * 301
    # job1's view still holds its own version: two jobs on one node never replace each other's files
    assert (view_of(root, "job1") / "assets" / "proj" / "tex" / "metal.png").read_bytes() == FILES["tex/metal.png"]
    assert not list(root.rglob("*.azrtmp-*"))


def test_a_file_edited_on_the_node_is_restored(tool, tmp_path):
    store, root = filled_store(tmp_path)
    m = manifest(tmp_path / "m.json", FILES)
    assert prep(tool, root, store.url, m, "j")[0].returncode == 0
    cached(root, FILES["scene.blend"]).write_bytes(b"corrupt")
    proc, summary = prep(tool, root, store.url, m, "j")
    assert summary["downloaded"] == 1
    assert (view_of(root, "j") / "assets" / "proj" / "scene.blend").read_bytes() == FILES["scene.blend"]


def test_full_cache_evicts_least_recently_used_then_fails_clearly(tool, tmp_path):
    store = FolderStore(tmp_path / "store")
    blobs = {name: name.encode() * 1000 for name in ("a", "b", "c", "d")}  # 1000 bytes each
    for rel, data in blobs.items():
        store.put(rel, data)
    root = tmp_path / "node" / "azrender"
    limit = ["--cache-limit", "3000"]
    assert prep(tool, root, store.url, manifest(tmp_path / "a.json", {"a": blobs["a"]}), "ja", *limit)[0].returncode == 0
    assert prep(tool, root, store.url, manifest(tmp_path / "b.json", {"b": blobs["b"]}), "jb", *limit)[0].returncode == 0
    assert release(tool, root, "ja").returncode == 0 and release(tool, root, "jb").returncode == 0

    # c and d need 2000 bytes; 1000 are free under the limit: the older file (a) goes, b stays.
    proc, summary = prep(tool, root, store.url, manifest(tmp_path / "cd.json", {"c": blobs["c"], "d": blobs["d"]}),
                         "jcd", *limit)
    assert proc.returncode == 0, proc.stderr
    assert summary["evicted"] == 1
    assert not cached(root, blobs["a"]).exists() and cached(root, blobs["b"]).exists()

    # jcd still runs (pinned): a job needing a, b and x cannot evict c/d and must fail before downloading.
    big = {"a": blobs["a"], "b": blobs["b"], "x": b"x" * 1000}
    store.put("x", big["x"])
    proc, _ = prep(tool, root, store.url, manifest(tmp_path / "big.json", big), "jbig", *limit)
    assert proc.returncode == 3
    assert "not enough space" in proc.stderr and "cache limit" in proc.stderr
    assert cached(root, blobs["c"]).exists() and not cached(root, big["x"]).exists()


def test_hostile_manifest_names_are_refused(tool, tmp_path):
    store = FolderStore(tmp_path / "store")
    root = tmp_path / "node" / "azrender"
    for bad in ("../../escape.txt", "/etc/passwd", "assets/../../escape.txt", "assets/nul\0byte", "C:/x",
                "assets\\..\\..\\escape.txt"):
        doc = {"version": 2, "entries": [{"key": bad, "size": 1, "mtime_ns": 1, "hash": "0" * 32}]}
        (tmp_path / "bad.json").write_text(json.dumps(doc))
        proc, _ = prep(tool, root, store.url, tmp_path / "bad.json", "j")
        assert proc.returncode == 5 and "unsafe" in proc.stderr, (bad, proc.stderr)
    assert not (tmp_path / "escape.txt").exists()
    (tmp_path / "bad.json").write_text("{not json")
    proc, _ = prep(tool, root, store.url, tmp_path / "bad.json", "j")
    assert proc.returncode == 5 and "bad manifest" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("doc", [
    '{"version": 3, "entries": []}',
    '{"version": 1, "entries": []}',  # an older store's head, never a submission's
    '{"version": 2, "entries": [{"key": "assets/a.png", "size": 1, "mtime_ns": 1, "hash": "not-a-hash"}]}',
    '{"version": 2, "entries": [{"key": "assets/a.png", "size": -1, "mtime_ns": 1, "hash": "%s"}]}' % ("0" * 32),
    '{"version": 2}',
])
def test_the_node_reads_a_manifest_with_the_workstations_decoder(tool, tmp_path, doc):
    """The node tool, under a Python with nothing but the standard library (no azrender, no
    xxhash), refuses a bad manifest with the line azrender's own decoder gives for it."""
    from azrender.sync.manifest import Manifest, ManifestError

    path = tmp_path / "m.json"
    path.write_text(doc)
    try:
        manifest = Manifest.from_bytes(path.read_bytes(), source=str(path))
        reason = f"{path}: a submission manifest is content-addressed (version 2), not version {manifest.version}"
    except ManifestError as exc:
        reason = exc.message
    root = tmp_path / "node" / "azrender"
    proc = subprocess.run([sys.executable, "-I", "-S", str(tool), "prep", "--store", (tmp_path / "store").as_uri(),
                           "--manifest", str(path), "--job", "j", "--root", str(root),
                           "--view", str(view_of(root, "j"))], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 5 and proc.stderr.strip() == f"azrender prep: bad manifest {reason}", proc.stderr


def test_a_node_without_xxhash_never_claims_a_check_it_did_not_do(tool, tmp_path):
    """Under a Python without xxhash a same-size foreign object cannot be told apart: prep says
    every file was checked by size only; once the node can hash, that content is fetched and
    hashed again, and the foreign one is caught."""
    store, root = filled_store(tmp_path)
    foreign = b"m" * 299 + b"X"  # tex/metal.png's size, other bytes
    (store.root / content_key(digest(FILES["tex/metal.png"]))).write_bytes(foreign)
    m = manifest(tmp_path / "m.json", FILES)
    argv = [str(tool), "prep", "--store", store.url, "--manifest", str(m), "--root", str(root), "--reserve", "0"]
    bare = subprocess.run([sys.executable, "-I", "-S", *argv, "--job", "j1", "--view", str(view_of(root, "j1")),
                           "--json"], capture_output=True, text=True, timeout=60)
    assert bare.returncode == 0, bare.stderr
    assert "no xxhash module: files are checked by size only" in bare.stderr
    summary = json.loads(bare.stdout.strip().splitlines()[-1])
    assert (summary["hashed"], summary["size_only"], summary["bad"]) == (0, 3, 0)
    text = subprocess.run([sys.executable, "-I", "-S", *argv, "--job", "j2", "--view", str(view_of(root, "j2"))],
                          capture_output=True, text=True, timeout=60)
    assert "(0 hashed, 3 checked by size only)" in text.stdout, text.stdout

    proc, summary = prep(tool, root, store.url, m, "j3")  # this Python has xxhash
    assert proc.returncode == 0, proc.stderr
    assert (summary["downloaded"], summary["hashed"], summary["bad"]) == (2, 2, 1)
    problems = json.loads((view_of(root, "j3").parent / "problems.json").read_text())["problems"]
    assert len(problems) == 1 and problems[0].startswith("assets/proj/tex/metal.png: the stored copy is not the submitted file")


def test_the_pinned_xxhash_is_installed_only_when_its_checksum_matches_and_prep_then_hashes(tool, tmp_path):
    """``provide`` (the start task of a pool azrender creates) under a Python with only the standard
    library: a wheel that is not the pinned one is refused; the pinned one is installed where the
    node tool finds it, and the next preparation hashes every file."""
    from azrender.jobs.provision import node_python_uploads

    wheels = tmp_path / "startup" / "wd"
    wheels.mkdir(parents=True)
    for key, data in node_python_uploads().items():
        (wheels / key.rsplit("/", 1)[1]).write_bytes(data)
    mine = next(wheels.glob(f"xxhash-*-cp{sys.version_info[0]}{sys.version_info[1]}-*.whl"))
    good = mine.read_bytes()
    mine.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # replaced in the store
    shared = tmp_path / "shared"
    env = {"PATH": os.environ["PATH"], "AZ_BATCH_NODE_SHARED_DIR": str(shared)}

    def bare(*argv, cwd=None):
        return subprocess.run([sys.executable, "-I", "-S", str(tool), *map(str, argv)], capture_output=True,
                              text=True, timeout=60, env=env, cwd=cwd)

    refused = bare("provide", "--wheels", ".", cwd=wheels)
    assert refused.returncode == 6 and f"{mine.name} is not the pinned wheel" in refused.stderr
    assert not (shared / "azrender" / "python").exists()

    store, root = filled_store(tmp_path)
    foreign = b"m" * 299 + b"X"  # tex/metal.png's size, other bytes
    (store.root / content_key(digest(FILES["tex/metal.png"]))).write_bytes(foreign)
    m = manifest(tmp_path / "m.json", FILES)
    argv = ["prep", "--store", store.url, "--manifest", m, "--root", root, "--reserve", "0", "--json"]
    before = bare(*argv, "--job", "j1", "--view", view_of(root, "j1"))
    assert json.loads(before.stdout.strip().splitlines()[-1])["size_only"] == 3

    mine.write_bytes(good)
    installed = bare("provide", "--wheels", ".", cwd=wheels)
    assert installed.returncode == 0 and "xxhash 3.5.0 installed" in installed.stdout, installed.stderr
    after = bare(*argv, "--job", "j2", "--view", view_of(root, "j2"))
    assert after.returncode == 0 and "no xxhash" not in after.stderr, after.stderr
    summary = json.loads(after.stdout.strip().splitlines()[-1])
    assert (summary["hashed"], summary["bad"], summary["size_only"]) == (2, 1, 0)  # metal.png: caught
    again = bare("provide", "--wheels", ".", cwd=wheels)  # the start task after a reboot
    assert again.returncode == 0 and "already installed" in again.stdout


def test_release_keeps_the_shared_cache(tool, tmp_path):
    store, root = filled_store(tmp_path)
    assert prep(tool, root, store.url, manifest(tmp_path / "m.json", FILES), "job1")[0].returncode == 0
    proc = release(tool, root, "job1")
    assert proc.returncode == 0, proc.stderr
    assert not (root / "jobs" / "job1").exists()
    assert cached(root, FILES["scene.blend"]).exists()
    assert json.loads((root / "cache-state.json").read_text())["pins"] == {}


@pytest.mark.azurite
def test_azurite_store_with_sas_from_the_environment(tool, tmp_path, azurite, container):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    service = azurite.blob_service()
    client = service.get_container_client(container)
    for rel, data in FILES.items():
        client.upload_blob(layout.join("pfx", content_key(digest(data))), data,
                           metadata={layout.HASH_METADATA_KEY: digest(data)})
    sas = generate_container_sas(azurite.account, container, account_key=azurite.key,
                                 permission=ContainerSasPermissions(read=True),
                                 expiry=datetime.now(timezone.utc) + timedelta(hours=1))
    url = azurite.container_url(container, "pfx")
    root = tmp_path / "node" / "azrender"
    m = manifest(tmp_path / "m.json", FILES)

    proc, first = prep(tool, root, url, m, "j1", sas=sas)
    assert proc.returncode == 0, proc.stderr
    assert first["downloaded"] == 3
    assert (view_of(root, "j1") / "assets/proj/tex/wood grain é.png").read_bytes() == FILES["tex/wood grain é.png"]
    assert prep(tool, root, url, m, "j1", sas=sas)[1]["downloaded"] == 0

    new = b"n" * 42
    client.upload_blob(layout.join("pfx", content_key(digest(new))), new, metadata={layout.HASH_METADATA_KEY: digest(new)})
    proc, third = prep(tool, root, url, manifest(tmp_path / "m2.json", dict(FILES, **{"tex/metal.png": new})),
                       "j2", sas=sas)
    assert proc.returncode == 0 and third["downloaded"] == 1 and third["bytes_downloaded"] == 42

    # A stored object that is not what its name says (written by another tool, tagged or not):
    # named, fetched again once, then left out of the view and listed for the tasks' check.
    stale = dict(FILES, **{"tex/metal.png": b"old" * 10})
    for n, tag in enumerate((digest(b"old" * 10), None)):
        client.upload_blob(layout.join("pfx", content_key(digest(b"old" * 10))), b"OLD" * 10, overwrite=True,
                           metadata={layout.HASH_METADATA_KEY: tag} if tag else {})
        proc, summary = prep(tool, root, url, manifest(tmp_path / "m3.json", stale), f"j3{n}", sas=sas)
        assert proc.returncode == 0 and summary["bad"] == 1, proc.stderr
        assert proc.stderr.count("assets/proj/tex/metal.png") == 2 and "fetching it again" in proc.stderr
        problems = json.loads((view_of(root, f"j3{n}").parent / "problems.json").read_text())["problems"]
        assert len(problems) == 1 and problems[0].startswith("assets/proj/tex/metal.png: ")
        assert not (view_of(root, f"j3{n}") / "assets/proj/tex/metal.png").exists()
        assert not cached(root, b"old" * 10).exists()
        assert sas.split("sig=")[1].split("&")[0] not in proc.stderr + proc.stdout

    # Without the SAS the store refuses, and prep says so in one line.
    proc, _ = prep(tool, tmp_path / "node2", url, m, "j4")
    assert proc.returncode == 4 and "refused" in proc.stderr, proc.stderr


@pytest.mark.azurite
def test_preparation_and_release_tasks_as_batch_would_run_them(tmp_path, azurite, container):
    """The job's own preparation task: resource files fetched from their URLs (as Batch does),
    its command line run on a 'node' folder, assets land where the scene's node paths point."""
    import shlex
    import urllib.request

    from azrender.jobs.access import node_access
    from azrender.jobs.batch_models import to_batch_models
    from azrender.jobs.build import build_job
    from azrender.jobs.nodetool import upload_node_tool
    from azrender.sync.stores import open_store

    client = azurite.blob_service().get_container_client(container)
    manifest_doc = {"version": 2, "entries": []}
    for rel, data in FILES.items():
        key = layout.asset_key("proj", rel)
        client.upload_blob(f"show/{content_key(digest(data))}", data, metadata={layout.HASH_METADATA_KEY: digest(data)})
        manifest_doc["entries"].append({"key": key, "size": len(data), "mtime_ns": 1, "hash": digest(data)})
    client.upload_blob("show/manifests/m1.json", json.dumps(manifest_doc).encode())
    # As the submit pipeline does: the sync stage's stores give least-privilege SAS URLs, and the
    # node tool is written to the assets store (the read SAS only travels in the job's request).
    assets = open_store(azurite.container_url(container, "show"), connection_string=azurite.connection_string)
    outputs = open_store(azurite.container_url(container, "out"), connection_string=azurite.connection_string)
    access = node_access(assets, outputs, expires=datetime.now(timezone.utc) + timedelta(hours=1))
    assert "sp=rl" in access.assets_url and "/show?" in access.assets_url and "sp=cw" in access.outputs_url
    sas = access.assets_url.split("?", 1)[1]
    upload_node_tool(assets)

    spec = build_job(job_id="job1", host="blender", scene="$AZ_BATCH_JOB_PREP_WORKING_DIR/view/assets/proj/scene.blend",
                     frames="1", chunk=1, manifest_key="manifests/m1.json", access=access, pool_id="pool1")
    prep = to_batch_models(spec).job.job_preparation_task
    assert sas not in prep.command_line
    node = tmp_path / "node"
    prep_dir = node / "workitems" / "job1" / "jobpreparation" / "wd"
    prep_dir.mkdir(parents=True)
    for resource in prep.resource_files:
        with urllib.request.urlopen(resource.http_url) as response:
            (prep_dir / resource.file_path).write_bytes(response.read())
    env = dict(os.environ, AZ_BATCH_NODE_SHARED_DIR=str(node / "shared"), AZ_BATCH_JOB_PREP_WORKING_DIR=str(prep_dir))
    settings = {s.name: s.value for s in prep.environment_settings or ()}
    assert settings == {"AZRENDER_STORE_SAS": sas}, "the read SAS reaches the node in the task's environment only"
    proc = subprocess.run(shlex.split(prep.command_line), cwd=prep_dir, env={**env, **settings}, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (prep_dir / "view" / "assets" / "proj" / "scene.blend").read_bytes() == FILES["scene.blend"]

    release = to_batch_models(spec).job.job_release_task
    proc = subprocess.run(shlex.split(release.command_line), cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert not (node / "shared" / "azrender" / "jobs" / "job1").exists()
    assert (node / "shared" / "azrender" / content_key(digest(FILES["scene.blend"]))).exists()


def test_blobfuse_mount_by_preparation_is_shared_and_unmounted_by_the_last_release(tmp_path, monkeypatch):
    """blobfuse2 is not on this machine: its calls are recorded (and the kernel's mount table
    stood in for), the rest — config, pins, when to unmount — is the real node code."""
    from azrender.node import __main__ as node_main
    from azrender.node import mount

    mounted, calls = set(), []

    def fake_run(argv, **kw):
        calls.append(argv)
        (mounted.add if argv[1] == "mount" else mounted.discard)(argv[2])
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(mount.subprocess, "run", fake_run)
    monkeypatch.setattr(mount.os.path, "ismount", lambda p: p in mounted)
    monkeypatch.setenv("AZ_BATCH_NODE_MOUNTS_DIR", str(tmp_path / "fsmounts"))
    root = tmp_path / "shared" / "azrender"
    monkeypatch.setenv("AZRENDER_STORE_SAS", "sv=1&sp=rl&sig=abc")
    target = str(tmp_path / "fsmounts" / "azrender")

    empty = tmp_path / "manifest.json"
    empty.write_text(json.dumps({"version": 2, "entries": []}))

    def prep_mount(job):
        return node_main.main(["prep", "--mount", "blobfuse", "--account", "acct", "--container", "assets",
                               "--store", "https://acct.blob.core.windows.net/assets", "--manifest", str(empty),
                               "--content-dir", target, "--view", str(tmp_path / job / "view"),
                               "--job", job, "--root", str(root),
                               "--mount-cache", str(tmp_path / "cache")])

    assert prep_mount("job1") == 0 and prep_mount("job2") == 0
    assert calls == [["blobfuse2", "mount", target, f"--config-file={root / 'blobfuse2.yaml'}"]]
    config = (root / "blobfuse2.yaml")
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    text = config.read_text()
    assert "read-only: true" in text and "sas: ?sv=1&sp=rl&sig=abc" in text and f"path: {tmp_path / 'cache'}" in text

    release = ["release", "--root", str(root), "--unmount", "azrender", "--job"]
    assert node_main.main(release + ["job1"]) == 0
    assert target in mounted  # job2 still renders from it
    assert node_main.main(release + ["job2"]) == 0
    assert target not in mounted and calls[-1] == ["blobfuse2", "unmount", target]
    assert not config.exists()


def test_node_access_with_a_managed_identity_carries_no_sas(tmp_path):
    from azrender.jobs.access import node_access
    from azrender.sync.stores import open_store

    store = open_store("https://acct.blob.core.windows.net/assets/show1", credential="a2V5a2V5a2V5a2V5")
    access = node_access(store, store.child("renders"), expires=datetime.now(timezone.utc),
                         identity_resource_id="/subscriptions/s/resourceGroups/r/providers/x/y/render")
    assert access.assets_url == "https://acct.blob.core.windows.net/assets/show1"
    assert access.outputs_url == "https://acct.blob.core.windows.net/assets/show1/renders"
    local = open_store((tmp_path / "store").as_uri())
    assert node_access(local, local, expires=datetime.now(timezone.utc)).assets_url == (tmp_path / "store").as_uri()


def test_the_zipapp_runs_the_pre_render_check_and_imports_as_azrender_node(tool, tmp_path):
    present = tmp_path / "shared" / "tex.png"
    present.parent.mkdir()
    present.write_bytes(b"x")
    needed = tmp_path / "needed.json"
    needed.write_text(json.dumps(["$AZ_BATCH_NODE_SHARED_DIR/tex.png", "$AZ_BATCH_NODE_SHARED_DIR/gone.png"]))
    env = dict(os.environ, AZ_BATCH_NODE_SHARED_DIR=str(tmp_path / "shared"))
    proc = subprocess.run([sys.executable, str(tool), "check", str(needed)], capture_output=True, text=True, env=env)
    assert proc.returncode == 3 and "gone.png" in proc.stdout + proc.stderr and "tex.png" not in proc.stdout + proc.stderr
    # Blender's remap script reaches the node code by putting the zipapp on sys.path.
    proc = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tool)!r}); "
                           "from azrender_node import blender_remap, prep; print(prep.__file__)"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip().startswith(str(tool)), proc.stderr


def test_mounted_content_is_linked_into_the_view_and_checked_up_to_the_size_cap(tool, tmp_path):
    mount = tmp_path / "fsmounts" / "azrender"  # what the pool mounts: the store's content/
    files = {"small.png": b"s" * 100, "big.exr": b"B" * 5000, "cut.png": b"c" * 300}
    for data in files.values():
        (mount / content_key(digest(data))).parent.mkdir(parents=True, exist_ok=True)
        (mount / content_key(digest(data))).write_bytes(data)
    m = manifest(tmp_path / "m.json", files)
    root = tmp_path / "node" / "azrender"

    def prep_mounted(job):
        view = view_of(root, job)
        proc = subprocess.run([sys.executable, str(tool), "prep", "--store", "https://acct.blob.core.windows.net/c",
                               "--manifest", str(m), "--job", job, "--root", str(root), "--view", str(view),
                               "--mounted", "--content-dir", str(mount), "--verify-max-bytes", "1000", "--json"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        problems = json.loads((view.parent / "problems.json").read_text())["problems"]
        return view, json.loads(proc.stdout.strip().splitlines()[-1]), problems, proc.stderr

    view, summary, problems, _ = prep_mounted("j1")
    assert summary["bad"] == 0 and problems == []
    assert (summary["hashed"], summary["verified_before"], summary["size_only"]) == (2, 0, 1)  # big.exr: over the cap
    small = view / "assets" / "proj" / "small.png"
    assert small.is_symlink() and small.read_bytes() == files["small.png"]
    # the next job on this node reads nothing again: each content file is hashed once per node
    _, summary, problems, _ = prep_mounted("j1b")
    assert (summary["hashed"], summary["verified_before"], summary["bad"]) == (0, 2, 0) and problems == []

    # another tool rewrote stored objects: same size (hashed only under the cap), or shorter
    (mount / content_key(digest(files["small.png"]))).write_bytes(b"S" * 100)
    (mount / content_key(digest(files["big.exr"]))).write_bytes(b"b" * 5000)
    (mount / content_key(digest(files["cut.png"]))).write_bytes(b"c" * 10)
    view, summary, problems, stderr = prep_mounted("j2")
    assert summary["bad"] == 2 and "reading it again" in stderr
    assert [p.split(":")[0] for p in problems] == ["assets/proj/cut.png", "assets/proj/small.png"]
    assert "10 bytes" in problems[0] and "not the submitted file" in problems[1]
    assert not (view / "assets/proj/small.png").exists() and (view / "assets/proj/big.exr").exists()  # over the cap
    check = subprocess.run([sys.executable, str(tool), "check", "-", "--problems", str(view.parent / "problems.json")],
                           input="[]", capture_output=True, text=True)
    assert check.returncode == 3 and "assets/proj/small.png" in check.stderr and "did not arrive intact" in check.stderr
