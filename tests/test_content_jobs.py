"""A job renders exactly the bytes it was submitted with: real Blender through the local backend.

Two projects with the same folder name, a texture repainted while a job renders, a node joining a
job after the change, a corrupted stored file: each frame shows the texture its own submission had.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from conftest import REPO, cli_env, run_blender
from pngpixels import close, pixel

pytestmark = [pytest.mark.blender, pytest.mark.slow]

RED, BLUE = (255, 0, 0), (0, 0, 255)


def solid_png(path: Path, rgb: tuple[int, int, int], size: int = 4) -> None:
    """A size x size PNG of one colour; every colour gives a file of the same length."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\0" + bytes(rgb) * size for _ in range(size))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b""))


def project(root: Path, blender: str, colour) -> Path:
    """``root/lighting/shot.blend``; its left card shows ``root/lighting/tex/wood.png``, in ``colour``."""
    scene, texture = root / "lighting" / "shot.blend", root / "lighting" / "tex" / "wood.png"
    texture.parent.mkdir(parents=True, exist_ok=True)
    run_blender(blender, "--python", str(REPO / "tests" / "blender_scene_with_textures.py"), "--",
                str(scene), str(texture), str(texture.with_name("other.png")))
    solid_png(texture, colour)
    return scene


class Farm:
    """The CLI and the local backend of one test (one state folder: one store, one set of nodes)."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.env = cli_env(AZRENDER_CONFIG_DIR=str(tmp_path / "config"), AZRENDER_CACHE_DIR=str(tmp_path / "cache"),
                           AZRENDER_STATE_DIR=str(tmp_path / "state"))

    def cli(self, *args, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "azrender", *map(str, args)], capture_output=True, text=True,
                              env=self.env, cwd=self.tmp, timeout=timeout)
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def submit(self, scene: Path, *extra) -> str:
        return json.loads(self.cli("submit", scene, "--json", *extra).stdout)["job_id"]

    @property
    def client(self):
        from azrender.backends.local import LocalBatchClient

        return LocalBatchClient(self.tmp / "state" / "local-batch")

    def wait(self, job_id: str):
        status = self.client.wait(job_id, timeout=900)
        failed = [(t.id, t.failure, t.stderr_tail) for t in status.failed]
        return status, failed

    def frames(self, job_id: str) -> list[Path]:
        dest = self.tmp / "renders" / job_id
        self.cli("download", job_id, "--dest", dest, check=False)  # a job with no frames has no outputs folder
        return sorted(dest.rglob("*.png"))

    @property
    def store(self) -> Path:
        return self.tmp / "state" / "store"


def assert_all(frames: list[Path], colour, count: int) -> None:
    assert len(frames) == count, frames
    for f in frames:  # the left card (see blender_scene_with_textures.py)
        assert close(pixel(f, 8, 8), colour), f"{f}: {pixel(f, 8, 8)}, expected {colour}"


def busy(farm: Farm, seconds: float) -> str:
    """An earlier slow job holding every node of the local pool for ``seconds``."""
    from azure.batch import models as m

    client = farm.client
    nodes = os.cpu_count() or 1
    client.create_job(m.BatchJobCreateOptions(id="slow-earlier", pool_info=m.BatchPoolInfo(pool_id="local"),
                                              all_tasks_complete_mode="terminatejob"))
    client.create_tasks("slow-earlier", [m.BatchTaskCreateOptions(id=f"hold{i}", command_line=f"sleep {seconds}")
                                         for i in range(nodes)])
    return "slow-earlier"


def test_two_projects_with_the_same_folder_name_each_render_their_own_texture(blender, tmp_path):
    farm = Farm(tmp_path)
    show_a = project(tmp_path / "shows" / "A", blender, RED)
    show_b = project(tmp_path / "shows" / "B", blender, BLUE)
    assert (show_a.parent / "tex/wood.png").stat().st_size == (show_b.parent / "tex/wood.png").stat().st_size
    slow = busy(farm, 15)
    job_a = farm.submit(show_a, "--frames", "1-2")
    job_b = farm.submit(show_b, "--frames", "1-2")
    assert not farm.client.status(slow).done, "the earlier job should still hold the nodes"
    for job, colour in ((job_a, RED), (job_b, BLUE)):
        status, failed = farm.wait(job)
        assert not failed, failed
        assert_all(farm.frames(job), colour, 2)
    # resubmitting show A on the same (warm) nodes: no poisoned cache
    again = farm.submit(show_a, "--frames", "3")
    status, failed = farm.wait(again)
    assert not failed, failed
    assert_all(farm.frames(again), RED, 1)
    # the same name, two contents: both stored, each once
    stored = sorted(p.name for p in (farm.store / "content").rglob("*") if p.is_file())
    assert len(stored) == len(set(stored))


@pytest.mark.parametrize("storage", ["copy", "blobfuse", "fileshare"])
def test_a_texture_repainted_while_a_job_renders_changes_only_the_next_job(blender, tmp_path, storage):
    farm = Farm(tmp_path)
    scene = project(tmp_path / "proj", blender, RED)
    job1 = farm.submit(scene, "--frames", "1-12", "--storage", storage)
    solid_png(scene.parent / "tex" / "wood.png", BLUE)  # the artist repaints it, same size
    job2 = farm.submit(scene, "--frames", "1-3", "--storage", storage)
    client = farm.client
    status1 = client.status(job1)
    assert status1.count("completed") < 12, "job 1 finished before the texture changed: nothing was tested"
    if storage == "copy":  # a node joining job 1 after the change (a reboot re-runs its preparation)
        pool = client.get_job(job1).pool_info.pool_id
        client.reboot_node(pool, "node-0")
    status1, failed1 = farm.wait(job1)
    status2, failed2 = farm.wait(job2)
    assert not failed1 and not failed2, (failed1, failed2)
    assert_all(farm.frames(job1), RED, 12)
    assert_all(farm.frames(job2), BLUE, 3)


@pytest.mark.parametrize("storage", ["copy", "blobfuse"])
def test_a_corrupted_stored_file_fails_the_task_by_name_before_rendering_and_sync_verify_repairs_it(
        blender, tmp_path, storage):
    farm = Farm(tmp_path)
    scene = project(tmp_path / "proj", blender, RED)
    texture = scene.parent / "tex" / "wood.png"
    farm.cli("sync", scene.parent, "--to", farm.store.as_uri())
    [stored] = [p for p in (farm.store / "content").rglob("*") if p.is_file() and p.read_bytes() == texture.read_bytes()]
    st = stored.stat()
    data = bytearray(stored.read_bytes())
    data[-20] ^= 0xFF  # same size, same time: only reading the bytes can tell
    stored.write_bytes(bytes(data))
    os.utime(stored, ns=(st.st_atime_ns, st.st_mtime_ns))

    job = farm.submit(scene, "--frames", "1", "--storage", storage)
    status, failed = farm.wait(job)
    assert failed, "a task rendered from a corrupt file"
    shown = farm.cli("status", job, check=False).stdout
    assert "assets/lighting/tex/wood.png" in shown and "not the submitted file" in shown, shown
    assert farm.frames(job) == []

    verify = farm.cli("sync", scene.parent, "--to", farm.store.as_uri(), "--verify")
    assert "repaired lighting/tex/wood.png" in verify.stdout, verify.stdout
    assert stored.read_bytes() == texture.read_bytes()
    again = farm.submit(scene, "--frames", "1", "--storage", storage)
    status, failed = farm.wait(again)
    assert not failed, failed
    assert_all(farm.frames(again), RED, 1)
