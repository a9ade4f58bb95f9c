"""Frame ranges as artists type them: ``1-100``, ``1-100x5`` (step), ``1,5,10-20``, ``7``."""

from __future__ import annotations

import re

from azrender.errors import UsageError

MAX_FRAMES = 1_000_000
_PART = re.compile(r"^\s*(-?\d+)\s*(?:(?:-|:|\.\.)\s*(-?\d+)\s*(?:[x:by]\s*(\d+))?)?\s*$")


def parse_frames(text: str) -> list[int]:
    """Parse a frame list; return sorted unique frames or raise :class:`UsageError` saying why."""
    if text is None or not str(text).strip():
        raise UsageError("empty frame range", hint="use e.g. 1-100, 1-100x5 or 1,5,10-20")
    frames: set[int] = set()
    for part in str(text).split(","):
        match = _PART.match(part)
        if not match:
            raise UsageError(f"invalid frame range {text!r}: cannot read {part.strip()!r}",
                             hint="use e.g. 1-100, 1-100x5 or 1,5,10-20")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        step = int(match.group(3)) if match.group(3) else 1
        if last < first:
            raise UsageError(f"invalid frame range {part.strip()!r}: end {last} is before start {first}")
        if step < 1:
            raise UsageError(f"invalid frame range {part.strip()!r}: step must be at least 1")
        if (last - first) // step + 1 + len(frames) > MAX_FRAMES:
            raise UsageError(f"frame range {text!r} has more than {MAX_FRAMES:,} frames")
        frames.update(range(first, last + 1, step))
    return sorted(frames)


MAX_TASKS = 10_000  # one job's tasks; beyond, the job spec alone runs into gigabytes


def check_task_count(frames: list[int], chunk: int) -> int:
    """How many tasks ``frames`` in chunks of ``chunk`` make (without building them); a
    :class:`UsageError` naming a chunk size that fits when over :data:`MAX_TASKS`."""
    if chunk < 1:
        raise UsageError(f"chunk size must be at least 1, not {chunk}")
    tasks, run, previous = 0, 0, None
    for frame in frames:
        if run and run < chunk and frame == previous + 1:
            run += 1
        else:
            tasks, run = tasks + 1, 1
        previous = frame
    if tasks > MAX_TASKS:
        fits = -(-len(frames) // MAX_TASKS)
        raise UsageError(f"{len(frames):,} frames in chunks of {chunk} make {tasks:,} tasks, over the "
                         f"{MAX_TASKS:,} one job may have", hint=f"use --chunk {fits} or more, or split the range")
    return tasks


def chunk_frames(frames: list[int], chunk: int) -> list[list[int]]:
    """Split frames into consecutive runs of at most ``chunk`` frames (a gap starts a new run)."""
    if chunk < 1:
        raise UsageError(f"chunk size must be at least 1, not {chunk}")
    chunks: list[list[int]] = []
    for frame in frames:
        if chunks and len(chunks[-1]) < chunk and frame == chunks[-1][-1] + 1:
            chunks[-1].append(frame)
        else:
            chunks.append([frame])
    return chunks


def format_frames(frames) -> str:
    """The shortest list ``parse_frames`` reads back: ``[1, 2, 3, 7]`` -> ``1-3,7``."""
    parts = [[f, f] for f in sorted(set(frames))[:1]]
    for frame in sorted(set(frames))[1:]:
        if frame == parts[-1][1] + 1:
            parts[-1][1] = frame
        else:
            parts.append([frame, frame])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in parts)
