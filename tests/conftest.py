"""Shared fixtures: the real components (Azurite, Blender) and the CLI.

A test that needs a component which is not installed is skipped on a developer machine and
FAILS under CI (``CI`` set): CI must prove the real thing ran.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_SCENES = REPO.parent / "shared" / "scenes"
IN_CI = bool(os.environ.get("CI"))
# Store retries wait 50 ms before the first retry instead of 0.5 s (doubling either way): tests that
# inject faults finish sooner; a test that must outlive an outage sets its own.
os.environ.setdefault("AZRENDER_STORE_BACKOFF", "0.05")

# The well-known Azurite development account (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def require(condition: bool, what: str) -> None:
    """Skip (developer machine) or fail (CI) when a real component is missing."""
    if condition:
        return
    message = f"{what} is not available (run scripts/setup)"
    if IN_CI:
        pytest.fail(f"CI needs {message}", pytrace=False)
    pytest.skip(message)


def pytest_collection_modifyitems(items):
    """Real Qt tests run last: a QApplication lives until the process ends, and once seen to
    crash a later test's threads; nothing runs after them but themselves."""
    items.sort(key=lambda item: "qt" in item.nodeid.split("::")[0])


def pytest_sessionfinish(session, exitstatus):
    """Under CI a skipped test is a failure: every component must really have run."""
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and session.exitstatus == 0:
        reporter.write_line(f"CI: {skipped} test(s) were skipped; in CI that is a failure.", red=True)
        session.exitstatus = 1


# ---- CLI ---------------------------------------------------------------------------------------


def cli_env(**extra: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "core"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("AZURE_STORAGE_CONNECTION_STRING", None)
    env.update(extra)
    return env


@pytest.fixture
def run_cli(tmp_path):
    """Run ``azrender ARGS`` as a user would (a new process); returns CompletedProcess (text)."""

    def run(*args, env: dict | None = None, cwd=None, timeout: float = 300, input: str | None = None):
        merged = cli_env(**(env or {}))
        merged.setdefault("AZRENDER_CONFIG_DIR", str(tmp_path / "config"))
        merged.setdefault("AZRENDER_CACHE_DIR", str(tmp_path / "cache"))
        merged.setdefault("AZRENDER_STATE_DIR", str(tmp_path / "state"))
        return subprocess.run(
            [sys.executable, "-m", "azrender", *map(str, args)],
            capture_output=True, text=True, env=merged, cwd=cwd or tmp_path, timeout=timeout, input=input,
        )

    return run


def failed_submission(run_cli, *args, env: dict | None = None, timeout: float = 300) -> tuple[dict, str]:
    """``submit ARGS --wait --json`` that must fail with one failed task: that task's record, and
    what ``azrender status`` then prints for the job."""
    proc = run_cli("submit", *args, "--wait", "--json", env=env, timeout=timeout)
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout)
    [failed] = result["status"]["failed"]
    return failed, run_cli("status", result["job_id"], env=env).stdout


# ---- Blender -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def blender() -> str:
    exe = os.environ.get("AZRENDER_BLENDER") or shutil.which("blender")
    require(bool(exe), "Blender")
    return exe


def run_blender(blender_exe: str, *args: str, timeout: float = 300, env: dict | None = None):
    """Run Blender headless with the factory settings; raise with its output when it fails."""
    cmd = [blender_exe, "-b", "--factory-startup", "--python-exit-code", "1", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=cli_env(**(env or {})))
    if proc.returncode != 0:
        raise AssertionError(f"blender failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def addon_zip(tmp_path_factory) -> Path:
    """The Blender add-on zip as ``azrender build-plugins`` builds it (once per run)."""
    dest = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "azrender", "build-plugins", "--dest", str(dest)],
                          capture_output=True, text=True, env=cli_env(), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [built] = dest.glob("azrender_blender-*.zip")
    return built


# ---- Azurite -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(proc: subprocess.Popen, port: int, name: str, seconds: float) -> None:
    """Until ``proc`` accepts connections on 127.0.0.1:``port``; its stderr when it exits first."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: {proc.stderr.read().decode(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not start within {seconds:.0f} s")


def stop_process(proc: subprocess.Popen | None) -> None:
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def azurite_binary() -> str | None:
    candidate = os.environ.get("AZURITE_BLOB") or str(REPO / "node_modules" / ".bin" / "azurite-blob")
    return candidate if os.path.exists(candidate) else shutil.which("azurite-blob")


class Azurite:
    """A real Azurite blob service on 127.0.0.1, in its own temp workspace."""

    account = AZURITE_ACCOUNT
    key = AZURITE_KEY

    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.account}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
                f"BlobEndpoint={self.endpoint};")

    def container_url(self, container: str, prefix: str = "") -> str:
        return f"{self.endpoint}/{container}" + (f"/{prefix}" if prefix else "")

    def start(self) -> "Azurite":
        binary = azurite_binary()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, "--silent", "--disableTelemetry", "--location", str(self.workdir),
             "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--skipApiVersionCheck", "--loose"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        wait_listening(self.proc, self.port, "azurite", 30)
        return self

    def stop(self) -> None:
        stop_process(self.proc)

    def blob_service(self):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    """One Azurite for the session; tests use their own containers (see ``container``)."""
    require(azurite_binary() is not None, "Azurite (npm install)")
    server = Azurite(tmp_path_factory.mktemp("azurite")).start()
    yield server
    server.stop()


@pytest.fixture
def container(azurite, request):
    """A fresh, empty container name for this test, created in the session's Azurite."""
    import re
    import uuid

    name = (re.sub(r"[^a-z0-9]", "", request.node.name.lower())[:40] or "t") + uuid.uuid4().hex[:8]
    azurite.blob_service().create_container(name)
    return name


# ---- real scenes -------------------------------------------------------------------------------


def shared_scene(rel: str) -> Path:
    """A file under ../shared/scenes (required: CI must have it)."""
    path = SHARED_SCENES / rel
    require(path.exists(), f"shared scene {path}")
    return path


def scan_isolated(path, **kw):
    """scan_scene with the built-in plugins only (no studio plugin installed on this machine)."""
    from azrender.discovery.scan import scan_scene
    from azrender.plugins import new_plugin_manager

    return scan_scene(path, plugin_manager=new_plugin_manager(load_entry_points=False), **kw)


# ---- stores that misbehave on cue -------------------------------------------------------------


class ActsOnFirstUpload:
    """The real store, but ``act()`` runs just before ``path`` is first uploaded (after hashing)
    or first read to be hashed and uploaded; ``calls`` counts both."""

    def __init__(self, real, path: Path, act):
        self.real, self.path, self.act, self.calls = real, path, act, 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def _reached(self, path) -> None:
        if Path(path) == self.path:
            self.calls += 1
            if self.calls == 1:
                self.act()

    def upload_file(self, path, key, content_hash, progress=None):
        self._reached(path)
        return self.real.upload_file(path, key, content_hash, progress)

    def hash_and_upload(self, path, key_of, progress=None):
        self._reached(path)
        return self.real.hash_and_upload(path, key_of, progress)


# ---- Samba (SMB 3) -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def samba(tmp_path_factory):
    """One real Samba for the session (encryption required); tests use their own prefixes."""
    import sambaserver

    require(sambaserver.available(), "Samba (smbd, run as root)")
    server = sambaserver.Samba(tmp_path_factory.mktemp("samba"), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def smb_prefix(request):
    """A fresh folder name inside the session's share for this test."""
    import re
    import uuid

    return (re.sub(r"[^a-z0-9]", "", request.node.name.lower())[:30] or "t") + uuid.uuid4().hex[:6]
