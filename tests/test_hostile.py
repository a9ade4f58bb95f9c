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

SECRET = "AZRENDER-HOSTILE-TEST-SECRET-5f1c"


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
           "AZRENDER_MAYA_RENDER": "/bin/true"}
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
