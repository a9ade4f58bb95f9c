"""The 3dsmaxcmd stand-in (tests/fake_3dsmaxcmd) set up for one scene: a launcher that hands it
the scene's Render Setup, written by hand in the test (the same table the pymxs stand-in answers)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

FAKE_3DSMAXCMD = Path(__file__).parent / "fake_3dsmaxcmd"


def stand_in_3dsmaxcmd(folder: Path, render: dict, *options: str) -> Path:
    """An executable ``3dsmaxcmd`` in ``folder`` rendering like 3ds Max for a scene set up as
    ``render`` (pymxs ``set_render`` keywords); ``options``: e.g. ``--skip ZDepth``."""
    folder.mkdir(parents=True, exist_ok=True)
    table = folder / "render_setup.json"
    table.write_text(json.dumps({"elements_active": True, "rendNThFrame": 1, **render}), encoding="utf-8")
    launcher = folder / "3dsmaxcmd"
    words = [sys.executable, str(FAKE_3DSMAXCMD), "--table", str(table), *options]
    launcher.write_text("#!/bin/sh\nexec " + " ".join(shlex.quote(w) for w in words) + ' "$@"\n')
    launcher.chmod(0o755)
    return launcher
