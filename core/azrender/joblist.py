"""Recent jobs, whichever backend ran them and whichever host submitted them, with their live
state: what ``azrender jobs`` prints and the host panels list. Built from this machine's job
records, the background agent's inbox (handed over, not submitted yet) and its refusals."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

HOSTS = {".blend": "Blender", ".ma": "Maya", ".mb": "Maya", ".max": "3ds Max"}


@dataclass(frozen=True)
class JobRow:
    job_id: str
    where: str  # "This machine" | "Azure Batch" | "" (not submitted yet)
    host: str
    scene: str
    submitted: str  # ISO time
    state: str  # uploading | scouting | held | running | done | failed | not submitted | unknown
    progress: str  # one line: "3/8 tasks done, 1 failed", "sync 40%", the held reason, an error
    done: int = 0
    total: int = 0

    def to_json(self) -> dict:
        return asdict(self)


def _when(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")


def _host(scene: str) -> str:
    name = Path(scene).name.replace(".azrender-submit", "")
    return HOSTS.get(Path(name).suffix.lower(), "?")


def _inbox_row(item: Path) -> JobRow:
    from azrender.watch import agentproc as agent

    job_id = item.stem
    try:
        scene = str(json.loads(item.read_text(encoding="utf-8"))["scene"])
    except (OSError, ValueError, KeyError):
        scene = ""
    try:
        stage = json.loads(agent.progress_file(job_id).read_text(encoding="utf-8"))
        line = f"{stage['stage']} {100 * stage['done'] / stage['total']:.0f}% {stage.get('message', '')}".rstrip() \
            if stage.get("total") else stage["stage"]
    except (OSError, ValueError, KeyError):
        line = "waiting for the agent"
    return JobRow(job_id, "", _host(scene), Path(scene).name, _when(item), "uploading", line)


def _refused_row(error: Path) -> JobRow:
    return JobRow(error.stem, "", "?", "", _when(error), "not submitted", error.read_text(encoding="utf-8").strip())


def _pending(limit: int) -> list[JobRow]:
    from azrender.watch import agentproc as agent

    return ([_inbox_row(item) for item in agent.inbox_items()[:limit]]
            + [_refused_row(error) for error in sorted(agent.folder().glob("*.error"))[:limit]])


def pending_row(job_id: str) -> JobRow | None:
    """The row of a job the background agent has not submitted yet (uploading, or refused), else
    None (a host's job list asks the backend then)."""
    from azrender.watch import agentproc as agent

    inbox, error = agent.folder() / "inbox" / f"{job_id}.json", agent.folder() / f"{job_id}.error"
    try:
        return _inbox_row(inbox) if inbox.exists() else _refused_row(error) if error.exists() else None
    except OSError:  # submitted between the look and the read
        return None


def recent_jobs(limit: int = 20, *, live: bool = True) -> list[JobRow]:
    """The newest ``limit`` jobs, newest first; ``live`` asks each job's backend for its state
    (one call per job; an unreachable one says so in its row)."""
    from azrender import jobrecord
    from azrender.backends import LABELS
    from azrender.dirs import state_dir
    from azrender.watch import record as watch

    records = sorted((state_dir() / "jobs").glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    rows = _pending(limit)
    for path in records[: max(0, limit - len(rows))]:
        try:
            job = jobrecord.load(path.stem)
        except Exception:  # one unreadable record must not hide the others
            continue
        if job is None:
            continue
        row = JobRow(job.job_id, LABELS.get(job.backend, job.backend), _host(job.scene), Path(job.scene).name,
                     _when(path), "unknown", "", total=job.task_count)
        watched = watch.load(job.job_id)
        if live:
            row = _live(row, job, watched)
        rows.append(row)
    return sorted(rows, key=lambda r: r.submitted, reverse=True)[:limit]


def _live(row: JobRow, job, watched) -> JobRow:
    from dataclasses import replace

    from azrender.hosts.background import error_line

    if watched is not None and watched.state == "done" and watched.usage:
        failed = watched.usage.get("failed", 0)
        done = watched.usage.get("tasks", row.total) - failed
        return replace(row, state="failed" if failed else "done", done=done, total=watched.usage.get("tasks", row.total),
                       progress=f"{done}/{row.total} tasks done" + (f", {failed} failed" if failed else ""))
    try:
        from azrender.watch import gate

        client = gate.open_client(job.job_id)
        status = gate.job_status(client, watched) if watched else _status(client, job)
        if watched is not None:
            watched = gate.advance(job.job_id, client=client, status=status) or watched
    except Exception as exc:
        return replace(row, state="unknown", progress=error_line(exc))
    done = status.count("completed") - len(status.failed)
    total = len(watched.tasks) if watched else len(status.tasks)
    line = f"{done}/{total} tasks done" + (f", {len(status.failed)} failed" if status.failed else "")
    if watched is not None and watched.state in ("held", "scouting"):
        return replace(row, state=watched.state, done=done, total=total,
                       progress=watched.reason if watched.state == "held" else line)
    finished = status.done and status.state in ("completed", "terminated") or status.state == "completed"
    state = ("failed" if status.failed else "done") if finished else "running"
    if status.failed:  # why, in the row itself: the first failed task's last lines
        line += f"; {first_failure(status)}"
    return replace(row, state=state, done=done, total=total, progress=line)


def first_failure(status, lines: int = 3) -> str:
    """The first failed task and the last lines it printed, on one line ("" when none failed)."""
    if not status.failed:
        return ""
    task = status.failed[0]
    said = " | ".join(line.strip() for line in (task.stderr_tail or task.failure).splitlines()[-lines:] if line.strip())
    return f"task {task.id} failed (exit {task.exit_code})" + (f": {said}" if said else "")


def _status(client, job):
    if job.backend == "local":
        return client.status(job.job_id)
    from azrender.backends.batch import batch_status

    return batch_status(client, job.job_id)


