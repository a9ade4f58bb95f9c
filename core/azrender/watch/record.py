"""The watch record of a job: ``<state dir>/watch/<job>.json`` (versioned, no secrets) with what the
gate needs from any process — which tasks render which frames, which are held back, the budget,
the price and the latest estimate — and ``<job>.held`` beside it (0600): the held tasks'
REST bodies exactly as they will be added, since their output URLs carry a SAS."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from azrender.errors import JobError

VERSION = 1
SCOUTING, HELD, RUNNING, DONE = "scouting", "held", "running", "done"


@dataclass(frozen=True)
class WatchRecord:
    job_id: str
    backend: str
    tasks: dict  # task id -> [frames], every task of the job, in order
    held: tuple = ()  # task ids not added to the job yet
    scout: tuple = ()  # task ids that scout the job
    state: str = RUNNING  # scouting | held | running | done
    reason: str = ""  # why it is held, in one line
    findings: tuple = ()  # the scout check's lines
    vm_size: str = "local"
    node_os: str = "linux"
    nodes: int = 1
    budget: float | None = None
    upload_bytes: int = 0
    estimate: dict | None = None  # azrender.cost.estimate.Estimate.to_json()
    usage: dict | None = None  # after the job: {"node_hours", "cost", "currency"}
    notified: bool = False
    download_dir: str | None = None  # where the agent brings finished frames as they appear

    def frames_of(self, task_ids) -> int:
        return sum(len(self.tasks.get(t, ())) for t in task_ids)

    def to_json(self) -> dict:
        return {"version": VERSION, **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}}


def folder() -> Path:
    from azrender.dirs import state_dir

    path = state_dir() / "watch"
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _write(path: Path, text: str, mode: int = 0o600) -> None:
    temp = path.with_name(path.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temp, path)


def save(record: WatchRecord) -> WatchRecord:
    _write(folder() / f"{record.job_id}.json", json.dumps(record.to_json(), indent=1))
    return record


def load(job_id: str) -> WatchRecord | None:
    path = folder() / f"{job_id}.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise JobError(f"watch record {path} is unreadable: {exc}") from None
    if not isinstance(doc, dict) or doc.pop("version", None) != VERSION:
        raise JobError(f"watch record {path} has an unknown format")
    known = {f.name for f in fields(WatchRecord)}
    try:
        record = WatchRecord(**{k: tuple(v) if isinstance(v, list) else v for k, v in doc.items() if k in known})
    except TypeError as exc:
        raise JobError(f"watch record {path} is malformed: {exc}") from None
    return replace(record, tasks={k: tuple(v) for k, v in record.tasks.items()})


def all_records() -> list[WatchRecord]:
    return [r for r in (load(p.stem) for p in sorted(folder().glob("*.json"))) if r is not None]


def save_held_tasks(job_id: str, bodies: list[dict]) -> None:
    _write(folder() / f"{job_id}.held", json.dumps(bodies))


def held_tasks(job_id: str) -> dict[str, dict]:
    """Task id -> REST body of the tasks not added yet."""
    try:
        bodies = json.loads((folder() / f"{job_id}.held").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {body["id"]: body for body in bodies}


def forget_held_tasks(job_id: str) -> None:
    (folder() / f"{job_id}.held").unlink(missing_ok=True)


def update(job_id: str, **changes) -> WatchRecord:
    record = load(job_id)
    if record is None:
        raise JobError(f"azrender is not watching job {job_id}")
    return save(replace(record, **changes))


