"""After the renderer exits: every file the task was expected to write must exist and not be empty.

Renderers exit 0 after writing nothing (a wrong path, a muted node, a crash in a writer thread);
this makes such a task fail, naming what is missing, instead of counting as a success::

    python3 azrender_node.pyz verify outputs.json TASK_ID      # run in the task's working directory

``outputs.json``: ``{"version": 1, "tasks": {"<task id>": {"set": "<layer-camera>", "frames":
{"1": ["render/sh010_0001.exr", ...]}}}}``, paths relative to ``out/``. A task is expected to
write every file of its task set's frames (the id names both: ``[<set>-]frames-<first>[-<last>]``),
so a retry's tasks, chunked otherwise, are verified too. Exit status 0 when all are there, 5
otherwise. Standard library only.
"""

from __future__ import annotations

import json
import os
import sys

VERSION = 1
OUTPUT_DIR = "out"
MISSING_OUTPUTS_EXIT_CODE = 5
SHOWN = 20
LEDGER = "uploaded.json"  # per-frame upload's list of this task's files in the outputs store (frames.py)


def register(parser) -> None:
    parser.add_argument("outputs", help="JSON file of the files each task must write")
    parser.add_argument("task", help="this task's id")


def _frames(task: str) -> tuple[str, range]:
    """(task set prefix, frames) of a task id (negative frames are written ``m0005``)."""
    prefix, _, span = task.rpartition("frames-")
    first, _, last = span.partition("-")
    try:
        numbers = [int(n.replace("m", "-")) for n in (first, last or first)]
    except ValueError:
        return prefix, range(0)
    return prefix, range(numbers[0], numbers[1] + 1)


def ledger_paths(ledger: str = LEDGER) -> set[str]:
    """Expected files this task's frames have in the outputs store already (per-frame upload)."""
    found: set[str] = set()
    try:
        with open(ledger, encoding="utf-8") as handle:
            for line in handle:
                found.update(json.loads(line).get("paths", ()))
    except (OSError, ValueError):
        pass
    return found


def expected_frames(doc: dict, task: str) -> dict[int, list[str]]:
    """``{frame: files}`` the task must write: its task set's files for each of its frames."""
    prefix, frames = _frames(task)
    found: dict[int, list[str]] = {}
    for tid, entry in doc.get("tasks", {}).items():
        if _frames(tid)[0] == prefix:
            for frame, paths in entry.get("frames", {}).items():
                if int(frame) in frames and paths:
                    found.setdefault(int(frame), []).extend(paths)
    return dict(sorted(found.items()))


def expected_files(doc: dict, task: str) -> list[str]:
    return [path for paths in expected_frames(doc, task).values() for path in paths]


def missing_outputs(expected, folder: str = OUTPUT_DIR, uploaded=frozenset()) -> list[str]:
    """``uploaded``: files already in the job's outputs store (per-frame upload, see frames.py)."""
    missing = []
    for path in expected:
        if path in uploaded:
            continue
        full = os.path.join(folder, *path.split("/"))
        if not os.path.isfile(full) or os.path.getsize(full) == 0:
            missing.append(path + (" (empty)" if os.path.isfile(full) else ""))
    return missing


def run(args) -> int:
    try:
        with open(args.outputs, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError) as exc:
        print(f"azrender verify: cannot read {args.outputs}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        print(f"azrender verify: {args.outputs} has an unknown format", file=sys.stderr)
        return 2
    expected = expected_files(doc, args.task)
    missing = missing_outputs(expected, uploaded=ledger_paths())
    if missing:
        print(f"azrender verify: task {args.task} did not write {len(missing)} of its {len(expected)} expected "
              f"file(s): {', '.join(missing[:SHOWN])}" + (f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""),
              file=sys.stderr)
        return MISSING_OUTPUTS_EXIT_CODE
    print(f"azrender verify: all {len(expected)} expected file(s) written")
    return 0
