"""Which frames scout a job: first, middle and last by default, or the artist's own."""

from __future__ import annotations

from azrender.errors import UsageError

AUTO = "auto"


def scout_frames(spec: str, frames: tuple[int, ...]) -> tuple[int, ...]:
    """``spec`` is "auto" (first, middle, last) or a frame list ("1,50,100", "10-12") that must
    lie in the job's frames."""
    if not frames:
        return ()
    if spec.strip().lower() == AUTO:
        ordered = sorted(frames)
        return tuple(dict.fromkeys((ordered[0], ordered[len(ordered) // 2], ordered[-1])))
    from azrender.jobs.frames import parse_frames

    chosen = tuple(parse_frames(spec))
    outside = sorted(set(chosen) - set(frames))
    if outside:
        raise UsageError(f"scout frame(s) {', '.join(map(str, outside[:5]))} are not among the job's frames")
    return chosen


def scout_tasks(tasks: dict[str, tuple[int, ...]], frames: tuple[int, ...]) -> list[str]:
    """The tasks (id -> frames) that render the scout frames, in the job's order."""
    wanted = set(frames)
    return [task for task, task_frames in tasks.items() if wanted & set(task_frames)]
