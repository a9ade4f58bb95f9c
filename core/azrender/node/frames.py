"""Per-frame upload on the node: each frame goes to the job's outputs as soon as the renderer has
finished it, so a task cut short (a preempted Spot node, a crash on frame 9 of 10) keeps what it
rendered, and its next run renders only the frames the outputs store does not hold yet.

Driven by ``watch --expected outputs.json --task ID --upload-to URL --upload-prefix KEY``:

- before rendering, frames whose every expected file is in the store *and verified* (uploaded
  whole by this tool: the Blob service checked its Content-MD5; a folder store got it by an atomic
  rename) are skipped; the renderer is asked only for the missing runs of frames (:func:`narrow`);
- while it renders, a frame is finished when all its files exist, are not empty, and either a later
  frame's file exists, or no process of the renderer holds one of them open and their size and
  time did not change since the last look (Linux), or the renderer exited 0. A half-written file
  is never uploaded; a frame the renderer was writing when it crashed is not either;
- after a successful render, every other file under ``out/`` goes up too (files the plan did not
  predict); the task's Batch output file then has nothing left to upload twice.

Uploaded files move to ``uploaded/`` (same relative path); :data:`LEDGER` lists every expected
file this task's frames have in the store, for ``verify``. Standard library only.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading

from . import store as node_store
from .verify import LEDGER, expected_frames

MOVED_DIR = "uploaded"
# The outputs SAS (create/write), a Batch environment setting of each render task (mirrors
# azrender.jobs.build.OUTPUTS_SAS_VARIABLE); removed from the renderer's environment.
OUTPUTS_SAS_VARIABLE = "AZRENDER_OUTPUTS_SAS"
# Frame arguments the tool narrows, per renderer: (first, last) flags; ``-start:N`` style when ending in ":".
FRAME_FLAGS = (("-s", "-e"), ("-start:", "-end:"))


def task_frames(outputs_json: str, task: str) -> dict[int, list[str]]:
    """``{frame: [expected paths under out/]}`` of ``task`` from the plan's ``outputs.json`` (a
    retry's task, chunked otherwise, included: see ``verify``); {} when it has none (output names
    unknown: frames then upload with the task, at its end)."""
    with open(outputs_json, encoding="utf-8") as handle:
        return expected_frames(json.load(handle), task)


def runs(frames) -> list[tuple[int, int]]:
    """Consecutive runs of ``frames``: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    found: list[list[int]] = []
    for frame in sorted(frames):
        if found and frame == found[-1][1] + 1:
            found[-1][1] = frame
        else:
            found.append([frame, frame])
    return [(a, b) for a, b in found]


def describe(frames) -> str:
    """``[1, 2, 3, 7]`` -> ``1-3,7``."""
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs(frames))


def narrow(argv: list[str], first: int, last: int) -> list[str] | None:
    """``argv`` rendering ``first``..``last`` instead of its own range (the last start and end
    frame arguments replaced: Blender's and Maya's ``-s N -e N``, 3ds Max's ``-start:N -end:N``);
    None when it has no such arguments."""
    out = list(argv)
    for start_flag, end_flag in FRAME_FLAGS:
        if start_flag.endswith(":"):
            where = [max((i for i, a in enumerate(out) if a.startswith(flag)), default=-1) for flag in (start_flag, end_flag)]
            if min(where) >= 0:
                out[where[0]], out[where[1]] = f"{start_flag}{first}", f"{end_flag}{last}"
                return out
        else:
            where = [max((i for i, a in enumerate(out[:-1]) if a == flag), default=-1) for flag in (start_flag, end_flag)]
            if min(where) >= 0:
                out[where[0] + 1], out[where[1] + 1] = str(first), str(last)
                return out
    return None


def _open_by(pgid: int | None) -> set[str]:
    """Files open in the renderer's process group (Linux /proc); None-safe, empty elsewhere."""
    found: set[str] = set()
    if pgid is None or not os.path.isdir("/proc"):
        return found
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:  # field 5 of stat: the process group
                continue
            fds = f"/proc/{pid}/fd"
            for fd in os.listdir(fds):
                try:
                    found.add(os.readlink(f"{fds}/{fd}"))
                except OSError:
                    pass
        except (OSError, IndexError, ValueError):
            continue
    return found


class FrameUploads:
    """The frames of one task and where they stand: in the store, rendering, uploading."""

    def __init__(self, frames: dict[int, list[str]], store, prefix: str, *, out_dir: str = "out",
                 ledger: str = LEDGER, moved_dir: str = MOVED_DIR):
        self.frames = dict(sorted(frames.items()))
        self.store, self.prefix = store, prefix.strip("/")
        self.out_dir, self.ledger, self.moved_dir = out_dir, ledger, moved_dir
        self.done: set[int] = set()  # frames whose files are in the store
        self.queued: set[int] = set()
        self.seen: dict[str, tuple[int, int]] = {}  # path -> (size, mtime) at the previous look
        self.errors: list[str] = []
        self.work: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._upload_loop, daemon=True)
        self.thread.start()

    # ---- before rendering -------------------------------------------------------------------

    def key(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def in_store(self) -> list[int]:
        """Frames whose every file the store holds, verified (recorded as done); the rest is missing."""
        for frame, paths in self.frames.items():
            if all(self.store.verified(self.key(p)) for p in paths):
                self.done.add(frame)
                self._record(frame, paths)
        return sorted(self.done)

    def missing(self) -> list[int]:
        """Frames to render; what an earlier try on this node left of them in ``out/`` is removed
        first (a half-written file there must never pass for finished)."""
        missing = [f for f in self.frames if f not in self.done]
        for frame in missing:
            for path in self.frames[frame]:
                try:
                    os.remove(self._local(path))
                except OSError:
                    pass
        return missing

    # ---- while rendering ----------------------------------------------------------------------

    def _local(self, path: str) -> str:
        return os.path.join(self.out_dir, *path.split("/"))

    def poll(self, pgid: int | None, exited_ok: bool = False) -> None:
        """Queue every frame the renderer has finished."""
        pending = [f for f in self.frames if f not in self.done and f not in self.queued]
        if not pending:
            return
        stats = {}
        for frame in pending:
            for path in self.frames[frame]:
                try:
                    st = os.stat(self._local(path))
                    stats[path] = (st.st_size, st.st_mtime_ns)
                except OSError:
                    pass
        open_files = None
        for i, frame in enumerate(pending):
            paths = self.frames[frame]
            if not all(stats.get(p, (0, 0))[0] > 0 for p in paths):
                continue
            later_started = any(p in stats for f in pending[i + 1:] for p in self.frames[f])
            finished = exited_ok or later_started
            if not finished and pgid is not None and os.path.isdir("/proc") and all(
                    self.seen.get(p) == stats[p] for p in paths):  # unchanged since the last look: closed?
                if open_files is None:
                    open_files = _open_by(pgid)
                finished = not any(os.path.realpath(self._local(p)) in open_files for p in paths)
            if finished:
                self.queued.add(frame)
                self.work.put(frame)
        self.seen = stats

    # ---- uploading ----------------------------------------------------------------------------

    def _upload_loop(self) -> None:
        while True:
            item = self.work.get()
            try:
                if item is None:
                    return
                self._upload_frame(item) if isinstance(item, int) else self._upload_file(item)
            finally:
                self.work.task_done()

    def _upload_file(self, path: str) -> bool:
        local = self._local(path)
        try:
            self.store.write_file(self.key(path), local)
        except (OSError, node_store.StoreError) as exc:
            self.errors.append(f"{path}: {exc}")
            return False
        moved = os.path.join(self.moved_dir, *path.split("/"))
        os.makedirs(os.path.dirname(moved) or ".", exist_ok=True)
        os.replace(local, moved)  # Batch's output file must not upload it a second time
        return True

    def _upload_frame(self, frame: int) -> None:
        paths = self.frames[frame]
        if all([self._upload_file(p) for p in paths]):
            self.done.add(frame)
            self._record(frame, paths)
            print(f"azrender: frame {frame} uploaded ({len(paths)} file(s))", file=sys.stderr, flush=True)

    def _record(self, frame: int, paths: list[str]) -> None:
        with open(self.ledger, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"frame": frame, "paths": paths}) + "\n")

    def finish(self, exit_code: int | None) -> int:
        """After the renderer: upload what it finished (everything under ``out/`` when it exited 0),
        wait for the uploads; the exit code, or 6 when an upload failed."""
        self.poll(None, exited_ok=exit_code == 0)
        if exit_code == 0:
            expected = {p for paths in self.frames.values() for p in paths}
            for base, _, names in os.walk(self.out_dir):
                for name in names:
                    path = os.path.relpath(os.path.join(base, name), self.out_dir).replace(os.sep, "/")
                    if path not in expected:
                        self.work.put(path)
        self.work.put(None)
        self.thread.join()
        if self.errors:
            print(f"azrender: {len(self.errors)} output file(s) could not be uploaded: {'; '.join(self.errors[:5])}",
                  file=sys.stderr, flush=True)
            return exit_code or UPLOAD_FAILED_EXIT_CODE
        return exit_code if exit_code is not None else 1


UPLOAD_FAILED_EXIT_CODE = 6


def open_outputs_store(url: str, identity: str | None):
    """The job's outputs store, writable: SAS from the task's environment, or the pool's identity."""
    return node_store.open_store(url, sas=os.environ.get(OUTPUTS_SAS_VARIABLE) or None, identity=identity)


def renderer_env() -> dict[str, str]:
    """The renderer's environment: the task's, without the outputs SAS."""
    return {k: v for k, v in os.environ.items() if k != OUTPUTS_SAS_VARIABLE}
