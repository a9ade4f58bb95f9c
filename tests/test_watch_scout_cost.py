"""Know before you pay: scout frames checked then released, a missing texture caught by its pink,
the estimate against the measured job, a budget that stops new tasks, the completion webhook.
Real Blender renders through the local backend; the CLI runs as a user would run it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from conftest import REPO, run_blender
from pngpixels import pixel

pytestmark = [pytest.mark.blender, pytest.mark.slow]


from test_main_job import demo as demo_folder  # noqa: F401  (the example scene, built by real Blender)


@pytest.fixture(scope="module")
def demo(demo_folder):  # noqa: F811
    return demo_folder / "demo.blend"


@pytest.fixture
def config(tmp_path):
    folder = tmp_path / "config"
    folder.mkdir()

    def write(text: str):
        (folder / "config.toml").write_text(text)

    return write


def job_tasks(tmp_path, job_id) -> list[str]:
    return sorted(p.stem for p in (tmp_path / "state" / "local-batch" / "jobs" / job_id / "tasks").glob("*.json"))


def test_scout_frames_render_first_then_the_rest_is_released(run_cli, demo, tmp_path):
    proc = run_cli("submit", demo, "--frames", "1-8", "--scout", "--json")
    assert proc.returncode == 0, proc.stderr
    submitted = json.loads(proc.stdout)
    job = submitted["job_id"]
    assert submitted["gate"]["state"] == "scouting" and submitted["gate"]["held_tasks"] == 5
    # only the first, middle and last frame are in the job until the scouts pass
    assert job_tasks(tmp_path, job) == ["frames-0001", "frames-0005", "frames-0008"]
    # the agent started for the job (or any look at it) checks the finished scouts and releases the rest
    for _ in range(120):
        proc = run_cli("status", job, "--json")
        assert proc.returncode == 0, proc.stderr
        status = json.loads(proc.stdout)
        if status["gate"]["state"] != "scouting":
            break
    assert status["gate"]["state"] in ("running", "done"), status
    assert status["estimate"]["measured_frames"] == 3 and status["estimate"]["frames"] == 8
    assert len(job_tasks(tmp_path, job)) == 8
    proc = run_cli("download", job, "--dest", tmp_path / "frames")
    for _ in range(120):
        status = json.loads(run_cli("status", job, "--json").stdout)
        if status["gate"]["state"] == "done":
            break
    assert status["counts"]["completed"] == 8 and not status["failed"]
    assert status["usage"]["node_hours"] > 0
    text = run_cli("status", job).stdout
    assert "used:" in text and "node-hours" in text


def test_missing_texture_is_caught_pink_and_the_job_held_until_released(run_cli, blender, tmp_path):
    scene, left, right = tmp_path / "tex" / "two.blend", tmp_path / "tex" / "left.png", tmp_path / "tex" / "right.png"
    scene.parent.mkdir()
    run_blender(blender, "--python", str(REPO / "tests" / "blender_scene_with_textures.py"), "--",
                str(scene), str(left), str(right))
    left.unlink()  # the artist's texture is gone: Blender renders its pink instead
    out = tmp_path / "frames"
    proc = run_cli("submit", scene, "--frames", "1-4", "--allow-missing", "--scout", "--wait", "--download", out)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "held: scout check:" in proc.stdout and "pink missing-texture colour" in proc.stdout, proc.stdout
    assert "hint: azrender release" in proc.stdout
    job = proc.stdout.split("job ", 1)[1].split()[0]
    assert job_tasks(tmp_path, job) == ["frames-0001", "frames-0003", "frames-0004"]  # nothing else started
    frame = out / "frame_0001.png"
    assert pixel(frame, 4, 8)[:3] == (255, 0, 255)  # what the check saw: the left plane is pink
    status = json.loads(run_cli("status", job, "--json").stdout)
    assert status["gate"]["state"] == "held" and "pink" in status["gate"]["reason"]
    proc = run_cli("release", job)
    assert proc.returncode == 0, proc.stderr
    assert len(job_tasks(tmp_path, job)) == 4


def test_estimate_is_within_30_percent_of_the_measured_job(run_cli, demo, tmp_path):
    proc = run_cli("submit", demo, "--frames", "1-8", "--scout", "--wait", "--download", tmp_path / "f", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    estimated, measured = result["estimate"]["node_hours"], result["usage"]["node_hours"]
    assert abs(estimated - measured) <= 0.3 * measured, (estimated, measured)
    assert_report_shows_frames(tmp_path / "f", 8)


def _mean(image) -> tuple[float, ...]:
    from PIL import ImageStat

    return tuple(ImageStat.Stat(image.convert("RGB")).mean)


def assert_report_shows_frames(folder, count: int) -> None:
    """The report beside the frames' folder: its contact sheet holds every frame (each cell looks like its
    frame), the chart and the numbers are there, in the HTML and in the PNG."""
    import base64
    import io
    import re

    from PIL import Image

    from azrender.report import CHART_HEIGHT, COLUMNS, THUMB

    page = folder.with_name(folder.name + ".report.html").read_text()
    sheet_src = re.search(r'id="contact-sheet" alt="contact sheet" src="data:image/png;base64,([^"]+)"', page).group(1)
    sheet = Image.open(io.BytesIO(base64.b64decode(sheet_src))).convert("RGB")
    frames = sorted(folder.rglob("frame_*.png"))  # the demo names them //render/frame_####
    assert len(frames) == count
    cell_h = sheet.height // -(-count // COLUMNS)
    for i, frame_png in enumerate(frames):
        frame = Image.open(frame_png)
        frame.thumbnail((THUMB, THUMB))
        x = (i % COLUMNS) * THUMB + (THUMB - frame.width) // 2
        y = (i // COLUMNS) * cell_h
        cell = sheet.crop((x, y, x + frame.width, y + frame.height))
        assert all(abs(a - b) < 4 for a, b in zip(_mean(cell), _mean(frame))), (frame_png.name, _mean(cell), _mean(frame))
    assert 'id="render-times"' in page and page.count("<tr><td>") == count  # a render time per frame
    assert "node-hours" in page
    png = Image.open(folder.with_name(folder.name + ".report.png")).convert("RGB")
    top = png.height - CHART_HEIGHT - sheet.height
    assert _mean(png.crop((0, top, sheet.width, top + sheet.height))) == _mean(sheet)


def test_a_budget_stops_new_tasks_and_holds_the_job(run_cli, demo, tmp_path, config):
    # this machine priced at one unit per node-second, so a few frames spend the budget
    config('[prices]\ncurrency = "EUR"\n[prices.vm]\nlocal = 3600.0\n')
    proc = run_cli("submit", demo, "--frames", "1-8", "--budget", "1", "--wait", "--download", tmp_path / "f")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "held: the budget of 1.00 EUR is spent" in proc.stdout, proc.stdout
    job = proc.stdout.split("job ", 1)[1].split()[0]
    started = job_tasks(tmp_path, job)
    assert 1 <= len(started) < 8  # the first wave ran; nothing after the money was gone
    assert len(list((tmp_path / "f").rglob("*.png"))) == len(started)
    proc = run_cli("release", job, "--budget", "0.5")
    assert proc.returncode != 0 and "still held" in proc.stderr


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_completion_webhook_reaches_a_local_server(run_cli, demo, tmp_path, config):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config(f'[profiles.me]\nnotify_desktop = false\nnotify_webhook = "http://127.0.0.1:{server.server_port}/hook"\n')
        proc = run_cli("submit", demo, "--frames", "1-2", "--wait", "--download", tmp_path / "f", "--json")
        assert proc.returncode == 0, proc.stderr
    finally:
        server.shutdown()
    job = json.loads(proc.stdout)["job_id"]
    [(kind, body)] = _Hook.received
    assert kind == "application/json"
    assert body["job_id"] == job and body["state"] == "completed" and body["tasks"] == 2 and body["failed"] == 0
    assert body["text"].startswith(f"azrender: {job} finished: 2 of 2 task(s) rendered")
