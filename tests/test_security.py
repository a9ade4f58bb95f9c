"""Secrets never leak, and what nodes get is least privilege.

A real ``azrender submit --wait`` renders the example scene (real Blender, local backend) from a
real Azurite whose account key is a fresh random secret (not the emulator's published one); then
everything the run produced is searched for that key, the connection string and any unmasked SAS
signature: stdout, stderr, the --json result, every file under the config / cache / state folders,
the downloaded frames, and every blob in the store. Nodes get their read SAS in the preparation
task's environment (as Batch holds it), never in a file: no credential may be anywhere.

Extends test_main_job's smaller check (state .json/.txt/.log files, the emulator's public key).
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import Azurite, azurite_binary, require
from test_main_job import demo  # noqa: F401  (the example scene, built by real Blender)

pytestmark = [pytest.mark.blender, pytest.mark.azurite, pytest.mark.slow]

ACCOUNT = "azrsecrets"
UNMASKED_SIG = re.compile(r"sig(=|%3D)(?!\*\*\*|%2A%2A%2A)", re.IGNORECASE)


@pytest.fixture(scope="module")
def secret_azurite(tmp_path_factory):
    """An Azurite whose only account has a random key: any appearance of it is a leak."""
    require(azurite_binary() is not None, "Azurite (npm install)")
    key = base64.b64encode(os.urandom(64)).decode()
    server = Azurite(tmp_path_factory.mktemp("azurite-secrets"))
    server.account, server.key = ACCOUNT, key
    previous = os.environ.get("AZURITE_ACCOUNTS")
    os.environ["AZURITE_ACCOUNTS"] = f"{ACCOUNT}:{key}"
    try:
        server.start()
    finally:
        if previous is None:
            del os.environ["AZURITE_ACCOUNTS"]
        else:
            os.environ["AZURITE_ACCOUNTS"] = previous
    server.blob_service().create_container("studio")
    yield server
    server.stop()


def sas_values(text: str) -> set[str]:
    return {urllib.parse.unquote(m) for m in re.findall(r"sig=([^&\"'\s]+)", text) if not m.startswith("***")}


def test_full_submit_leaves_no_secret_anywhere(run_cli, demo, tmp_path, secret_azurite):  # noqa: F811
    azurite = secret_azurite
    url = azurite.container_url("studio", "show")
    out = tmp_path / "frames"
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    proc = run_cli("-vv", "submit", demo / "demo.blend", "--frames", "2", "--storage-url", url, "--json", env=env,
                   timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    job_id = json.loads(proc.stdout)["job_id"]
    # The job's requests as the service holds them (the local backend's private copy, while it runs):
    # the one place the nodes' SAS may be.
    private = tmp_path / "state" / "local-batch" / "jobs" / job_id / "private" / "job.json"
    node_requests = [private.read_text()]
    prep_env = json.loads(node_requests[0])["jobPreparationTask"]["environmentSettings"]
    assert [e["name"] for e in prep_env] == ["AZRENDER_STORE_SAS"] and "sp=rl" in prep_env[0]["value"]
    waited = run_cli("-vv", "wait", job_id, env=env, timeout=600)
    assert waited.returncode == 0, waited.stderr[-3000:]
    fetched = run_cli("-vv", "download", job_id, "--dest", out, "--json", env=env, timeout=120)
    assert fetched.returncode == 0, fetched.stderr[-3000:]
    assert (out / "render" / "frame_0002.png").is_file()  # where the demo scene says

    later = [run_cli("-vv", "status", job_id, "--json", env=env),  # from other processes, as an artist would
             run_cli("-vv", "download", job_id, "--dest", tmp_path / "frames" / "again", "--logs", "--json", env=env)]
    assert [p.returncode for p in later] == [0, 0], [p.stderr[-2000:] for p in later]
    assert [p for p in (tmp_path / "frames" / "again").rglob("*.txt")], "the task logs were not downloaded"
    produced: dict[str, bytes] = {"stdout": proc.stdout.encode(), "stderr": proc.stderr.encode()}
    for n, other in enumerate((waited, fetched, *later)):
        produced[f"stdout {other.args[4]} {n}"] = other.stdout.encode()
        produced[f"stderr {other.args[4]} {n}"] = other.stderr.encode()
    for folder in ("config", "cache", "state", "frames"):
        for path in (tmp_path / folder).rglob("*"):
            if path.is_file():
                produced[str(path)] = path.read_bytes()
    container = azurite.blob_service().get_container_client("studio")
    blobs = list(container.list_blobs(include=["metadata"]))
    for blob in blobs:
        produced[f"blob {blob.name}"] = container.download_blob(blob.name).readall()
        produced[f"blob metadata {blob.name}"] = json.dumps(blob.metadata).encode()
    assert len(produced) > 20 and any(name.startswith("blob ") for name in produced), "too little was searched"
    assert any(name.startswith(f"blob show/jobs/{job_id}/outputs/") for name in produced), "the node wrote no frame"

    # the real SAS signatures the nodes were given (the job's request, as the local backend held it)
    given = set().union(*(sas_values(text) for text in node_requests))
    assert given, "no SAS was given to the nodes"
    leaks = []
    for name, data in produced.items():
        text = data.decode("latin-1")
        for secret, what in [(azurite.key, "account key"), (azurite.connection_string, "connection string"),
                             ("AccountKey=", "connection string"), *((sig, "node SAS signature") for sig in given),
                             *((urllib.parse.quote(sig, safe=""), "node SAS signature") for sig in given)]:
            if secret in text:
                leaks.append(f"{what} in {name}")
        if UNMASKED_SIG.search(text):
            leaks.append(f"unmasked sig= in {name}")
    assert not leaks, leaks
    # the local backend's private specs (task SAS URLs, as Batch would hold them) are gone once the job ended
    private = [p for p in (tmp_path / "state").rglob("*") if p.is_file() and "private" in p.parts]
    assert not [p for p in private if job_id in str(p)], private


def _sas_urls(obj, found: list[tuple[str, str]], where: str = "") -> None:
    """Every (json path, URL with a SAS) in a REST JSON document."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            _sas_urls(value, found, f"{where}.{key}")
    elif isinstance(obj, list):
        for n, value in enumerate(obj):
            _sas_urls(value, found, f"{where}[{n}]")
    elif isinstance(obj, str) and "sig=" in obj:
        found.append((where, obj))


def test_sas_given_to_nodes_is_least_privilege_and_expires(demo, tmp_path, secret_azurite, monkeypatch):  # noqa: F811
    """What the pipeline generates (captured where it would be sent to Batch): assets and the
    node's files read-only (rl), outputs create/write only (cw), per-frame upload's outputs SAS
    read/create/write (rcw) in the render tasks' AZRENDER_OUTPUTS_SAS setting, each with an expiry;
    nothing secret in command lines or other environment settings but the preparation task's read
    SAS; and Azurite enforces those permissions."""
    from azure.core.exceptions import HttpResponseError
    from azure.storage.blob import ContainerClient

    from azrender import pipeline
    from azrender.backends import batch

    azurite = secret_azurite
    for name, folder in (("CONFIG", "config"), ("CACHE", "cache"), ("STATE", "state")):
        monkeypatch.setenv(f"AZRENDER_{name}_DIR", str(tmp_path / folder))
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    sent = []
    monkeypatch.setattr(batch, "submit_batch", lambda client, requests, **kw: sent.append(requests))
    before = datetime.now(timezone.utc)
    pipeline.submit(pipeline.SubmitRequest(scene=demo / "demo.blend", frames="1-2",
                                           storage_url=azurite.container_url("studio", "least")))
    [requests] = sent
    doc = requests.as_json(redacted=False)
    urls: list[tuple[str, str]] = []
    _sas_urls(doc, urls)
    assert urls, "the job gives nodes no SAS at all"
    node_sas = ".job.jobPreparationTask.environmentSettings[0].value"
    assert doc["job"]["jobPreparationTask"]["environmentSettings"][0]["name"] == "AZRENDER_STORE_SAS"
    assert node_sas in dict(urls), "the preparation task does not get the read SAS"
    frames_sas = [where for where, _ in urls if ".tasks[" in where and ".environmentSettings" in where]
    assert frames_sas == [f".tasks[{n}].environmentSettings[0].value" for n in range(2)]
    assert all(t["environmentSettings"][0]["name"] == "AZRENDER_OUTPUTS_SAS" for t in doc["tasks"])
    for where, url in urls:
        setting = ".environmentSettings" in where
        query = dict(urllib.parse.parse_qsl(url if setting else urllib.parse.urlsplit(url).query))
        expected = "rcw" if where in frames_sas else "cw" if ".outputFiles" in where else "rl"
        assert query.get("sp") == expected, f"{where}: permissions {query.get('sp')!r}, expected {expected!r}"
        expiry = datetime.fromisoformat(query["se"].replace("Z", "+00:00"))
        assert before < expiry <= before + pipeline.ACCESS_LIFETIME + timedelta(minutes=5), f"{where}: expiry {expiry}"
        assert ".commandLine" not in where and (not setting or where == node_sas or where in frames_sas), \
            f"a SAS in {where}"
    prep = doc["job"]["jobPreparationTask"]
    for task in doc["tasks"] + [{"commandLine": prep["commandLine"]}, doc["job"].get("jobReleaseTask") or {}]:
        visible = json.dumps([task.get("commandLine"), [e for e in task.get("environmentSettings") or ()
                                                        if e["name"] != "AZRENDER_OUTPUTS_SAS"]])
        assert "sig=" not in visible and azurite.key not in visible
    assert azurite.key not in json.dumps(doc)

    reader = next(url for where, url in urls if ".outputFiles" not in where and ".environmentSettings" not in where)
    writer = next(url for where, url in urls if ".outputFiles" in where)
    read_only = ContainerClient.from_container_url(_container_url(reader))
    assert list(read_only.list_blobs(name_starts_with="least/"))  # reads and lists the assets
    with pytest.raises(HttpResponseError):
        read_only.upload_blob("least/intruder.txt", b"x")
    write_only = ContainerClient.from_container_url(_container_url(writer))
    write_only.upload_blob("least/jobs/probe.txt", b"frame")
    with pytest.raises(HttpResponseError):
        list(write_only.list_blobs())
    with pytest.raises(HttpResponseError):
        write_only.download_blob("least/jobs/probe.txt").readall()
    frames_sas = doc["tasks"][0]["environmentSettings"][0]["value"]  # per-frame upload: reads what it wrote, lists nothing
    frames = ContainerClient.from_container_url(_container_url(writer).split("?")[0] + "?" + frames_sas)
    assert frames.download_blob("least/jobs/probe.txt").readall() == b"frame"
    with pytest.raises(HttpResponseError):
        list(frames.list_blobs())


def _container_url(url: str) -> str:
    """The container URL (with its SAS) of a blob or container URL with a SAS."""
    parts = urllib.parse.urlsplit(url)
    account, container = parts.path.strip("/").split("/")[:2]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{account}/{container}", parts.query, ""))
