"""The main job end to end on the embedded default: real Blender renders the example scene through
the local backend, in every storage mode, and the frames that come back show every texture."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import REPO, run_blender
from pngpixels import close, pixel

sys.path.insert(0, str(REPO / "examples"))
import build_demo  # noqa: E402  (colours and pixel positions only; needs no Blender to import)

pytestmark = [pytest.mark.blender, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(blender, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "shot"
    run_blender(blender, "--python", str(REPO / "examples" / "build_demo.py"), "--", str(out))
    return out


def assert_frame_shows_textures(frame_png, frame: int) -> None:
    expected = {**build_demo.DEMO_COLOURS, "flame": build_demo.sequence_colour(frame)}
    for card, (x, y) in build_demo.CARD_PIXELS.items():
        actual = pixel(frame_png, x, y)
        assert close(actual, expected[card]), f"{frame_png.name}: {card} shows {actual}, expected {expected[card]}"


@pytest.mark.parametrize("storage", ["copy", "blobfuse", "fileshare"])
def test_local_render_in_each_storage_mode(run_cli, demo, tmp_path, storage):
    out = tmp_path / "frames"
    proc = run_cli("submit", demo / "demo.blend", "--frames", "1-4", "--storage", storage, "--wait",
                   "--download", out, "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["backend"] == "local"
    frames = sorted(out.rglob("*.png"))
    assert [f.name for f in frames] == [f"frame_{n:04d}.png" for n in range(1, 5)], frames
    for n, frame_png in enumerate(frames, start=1):
        assert_frame_shows_textures(frame_png, n)


def _prep_logs(state, job_id):
    return sorted((state / "local-batch").glob(f"pools/*/nodes/*/workitems/{job_id}/job-1/azrender-prep/stdout.txt"))


def test_second_run_downloads_no_assets_on_any_node(run_cli, demo, tmp_path):
    state = tmp_path / "state"
    runs = []
    for _ in range(2):
        proc = run_cli("submit", demo / "demo.blend", "--frames", "1-2", "--wait", "--download", tmp_path / "f",
                       "--json", env={"AZRENDER_STATE_DIR": str(state)})
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout))
    assert runs[0]["sync"]["uploaded"] > 0 and runs[1]["sync"]["uploaded"] == 0
    first, second = (_prep_logs(state, run["job_id"]) for run in runs)
    assert first and second, "every node that ran a task ran the preparation task"
    assert any(" 0 downloaded" not in log.read_text() for log in first)
    for log in second:  # each node kept the assets from the first job
        assert " 0 downloaded" in log.read_text(), log.read_text()
    releases = list((state / "local-batch").glob(f"pools/*/nodes/*/workitems/{runs[1]['job_id']}/job-1/azrender-release/stdout.txt"))
    assert releases and all("removed" in r.read_text() for r in releases)


def test_failing_task_is_retried_then_reported_with_its_stderr(run_cli, demo, tmp_path):
    proc = run_cli("submit", demo / "demo.blend", "--frames", "1", "--renderer", "NO_SUCH_ENGINE", "--wait",
                   "--download", tmp_path / "f", "--json")
    assert proc.returncode == 1, proc.stderr
    status = json.loads(proc.stdout)["status"]
    [failed] = status["failed"]
    assert failed["exit_code"] != 0 and failed["retries"] == 2
    assert "NO_SUCH_ENGINE" in failed["stderr_tail"]


def test_status_and_download_from_other_processes(run_cli, demo, tmp_path):
    proc = run_cli("submit", demo / "demo.blend", "--frames", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    job_id = json.loads(proc.stdout)["job_id"]
    import time

    deadline = time.time() + 300
    while time.time() < deadline:
        status = json.loads(run_cli("status", job_id, "--json").stdout)
        if status["done"]:
            break
        time.sleep(1)
    assert status["done"] and status["counts"]["completed"] == 1 and not status["failed"]
    dest = tmp_path / "later"
    proc = run_cli("download", job_id, "--dest", dest)
    assert proc.returncode == 0, proc.stderr
    assert_frame_shows_textures(dest / "render" / "frame_0003.png", 3)  # where the scene says
    again = run_cli("download", job_id, "--dest", dest, "--json")
    assert json.loads(again.stdout)["downloaded"] == 0


def test_missing_texture_blocks_the_submission(run_cli, demo, tmp_path):
    import shutil

    shot = tmp_path / "shot"
    shutil.copytree(demo, shot)
    (shot / "textures" / "wood.png").unlink()
    proc = run_cli("submit", shot / "demo.blend", "--frames", "1")
    assert proc.returncode == 3
    assert "wood.png" in proc.stderr and "Traceback" not in proc.stderr
    assert not list((tmp_path / "state").glob("jobs/*.json")), "nothing was submitted"


@pytest.mark.azurite
def test_local_render_from_a_blob_store_reads_assets_with_a_read_only_sas(run_cli, demo, tmp_path, azurite, container):
    """The node side as on a pool: assets and the node tool come from blob storage via SAS."""
    url = azurite.container_url(container, "studio")
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    proc = run_cli("submit", demo / "demo.blend", "--frames", "5", "--storage-url", url, "--wait",
                   "--download", tmp_path / "f", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert_frame_shows_textures(tmp_path / "f" / "render" / "frame_0005.png", 5)
    # Everything written (the local backend's private, deleted-at-end specs included).
    written = [p for p in (tmp_path / "state").rglob("*") if p.is_file() and p.suffix in (".json", ".txt", ".log")]
    everything = proc.stdout + proc.stderr + "".join(p.read_text(errors="replace") for p in written)
    import re

    assert azurite.key not in everything
    assert not re.search(r"sig=(?!\*\*\*)", everything), "an unmasked SAS signature was written"


def test_ctrl_c_cancels_and_says_what_was_rendered(demo, tmp_path):
    import signal
    import subprocess
    import time

    from conftest import cli_env

    out = tmp_path / "frames"
    env = cli_env(AZRENDER_STATE_DIR=str(tmp_path / "state"), AZRENDER_CACHE_DIR=str(tmp_path / "cache"),
                  AZRENDER_CONFIG_DIR=str(tmp_path / "config"))
    proc = subprocess.Popen([sys.executable, "-m", "azrender", "submit", str(demo / "demo.blend"), "--frames", "1-40",
                             "--wait", "--download", str(out)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list((tmp_path / "state").glob("store/jobs/*/outputs/**/*.png")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "cancelled" in stderr and str(out) in stderr
    delivered = sorted(out.rglob("*.png"))
    assert 0 < len(delivered) < 40, "the frames finished before Ctrl-C came home, the rest were not rendered"
    for frame_png in delivered:
        assert_frame_shows_textures(frame_png, int(frame_png.stem.split("_")[1]))


def test_missing_blender_is_one_clear_line_before_any_work(run_cli, demo, tmp_path):
    proc = run_cli("submit", demo / "demo.blend", "--frames", "1", env={"PATH": "/nonexistent", "AZRENDER_BLENDER": ""})
    assert proc.returncode == 2
    assert "blender" in proc.stderr and "not installed" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "state" / "store").exists() or not any((tmp_path / "state" / "store").rglob("*.blend"))
