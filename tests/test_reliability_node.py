"""The node tool's preparation when the node's disk fills mid-download and when the node dies
mid-write, run for real (the zipapp under python3) against a folder store and a real Azurite.

A file-size limit (RLIMIT_FSIZE) stands for the full disk: with SIGXFSZ ignored a write past it
fails as on a full disk (EFBIG); with SIGXFSZ left alone the kernel kills the process in the
middle of the write, like a node losing power.

Already covered elsewhere (not repeated): eviction of least-recently-used files then a clear
"not enough space" before downloading (test_jobs_node); a node rebooted mid-task, where
preparation runs again, a hung task killed at its wall-clock limit, and output upload failing
with the frames kept on the node and the failure reported (test_local_backend).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from azrender import layout
from azrender.sync.content import content_key
from test_jobs_node import FolderStore, digest, manifest, tool, view_of  # noqa: F401  (tool: the node zipapp fixture)

LIMIT = 1 << 20
FILES = {**{f"tex/t{i}.png": bytes([i]) * 50_000 for i in range(6)}, "cache/sim.vdb": b"v" * (3 * LIMIT)}


def limited():
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


# Python ignores SIGXFSZ at start-up; this runs the zipapp with the kernel's default action back.
DIE_ON_LIMIT = ("import runpy, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_DFL); "
                "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")


def run_prep(tool, root, url, manifest_path, sas=None, preexec=None, die_on_limit=False):  # noqa: F811
    argv = [str(tool), "prep", "--store", url, "--manifest", str(manifest_path), "--job", "j1",
            "--root", str(root), "--view", str(view_of(root, "j1")), "--reserve", "0", "--json"]
    launcher = [sys.executable, "-c", DIE_ON_LIMIT] if die_on_limit else [sys.executable]
    env = dict(os.environ, AZRENDER_STORE_SAS=sas) if sas else None  # as Batch gives it: the task's environment
    return subprocess.run(launcher + argv, capture_output=True, text=True, timeout=120, preexec_fn=preexec, env=env)


@pytest.fixture(params=["folder", "azurite"])
def source(request, tmp_path):
    """(store URL, read SAS or None) holding FILES, as the sync stage stores assets."""
    if request.param == "folder":
        store = FolderStore(tmp_path / "store")
        for rel, data in FILES.items():
            store.put(rel, data)
        return store.url, None
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    azurite, container = request.getfixturevalue("azurite"), request.getfixturevalue("container")
    client = azurite.blob_service().get_container_client(container)
    for rel, data in FILES.items():
        client.upload_blob(content_key(digest(data)), data, metadata={layout.HASH_METADATA_KEY: digest(data)})
    sas = generate_container_sas(azurite.account, container, account_key=azurite.key,
                                 permission=ContainerSasPermissions(read=True, list=True),
                                 expiry=datetime.now(timezone.utc) + timedelta(hours=1))
    return azurite.container_url(container), sas


def assert_cache_complete(root) -> None:
    for rel, data in FILES.items():
        assert (root / content_key(digest(data))).read_bytes() == data, rel
        assert (view_of(root, "j1") / "assets" / "proj" / rel).read_bytes() == data, rel
    leftovers = [p.name for p in root.rglob("*") if ".azrtmp-" in p.name]
    assert not leftovers, f"partial downloads left in the node cache: {leftovers}"


def test_disk_filling_during_preparation_fails_clearly_then_the_rerun_finishes(tool, tmp_path, source):  # noqa: F811
    url, sas = source
    root = tmp_path / "node" / "azrender"
    m = manifest(tmp_path / "m.json", FILES)
    proc = run_prep(tool, root, url, m, sas, preexec=limited)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"azrender prep: cannot write the node cache {root}: File too large"), proc.stderr
    assert not [p for p in root.rglob("*") if ".azrtmp-" in p.name], "the failed download left its partial file"
    state = json.loads((root / "cache-state.json").read_text())
    assert digest(FILES["cache/sim.vdb"]) not in state["files"]

    again = run_prep(tool, root, url, m, sas)  # room again
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert 1 <= summary["downloaded"] < len(FILES), "what arrived before the disk filled was fetched again"
    assert_cache_complete(root)


def test_node_dying_mid_write_then_preparation_reruns_idempotently(tool, tmp_path, source):  # noqa: F811
    url, sas = source
    root = tmp_path / "node" / "azrender"
    m = manifest(tmp_path / "m.json", FILES)
    proc = run_prep(tool, root, url, m, sas, preexec=limited, die_on_limit=True)
    assert proc.returncode == -signal.SIGXFSZ, (proc.returncode, proc.stderr)
    assert [p for p in root.rglob("*") if ".azrtmp-" in p.name], "the process did not die mid-write"

    for _ in range(2):  # the node is back: preparation runs again, then once more for a retried task
        again = run_prep(tool, root, url, m, sas)
        assert again.returncode == 0, again.stderr
        assert_cache_complete(root)
    assert json.loads(again.stdout.strip().splitlines()[-1])["downloaded"] == 0
