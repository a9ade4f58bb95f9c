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
