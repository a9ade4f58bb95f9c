"""What azrender remembers about a submitted job, so ``status`` and ``download`` work later from
any process: ``<state dir>/jobs/<job id>.json`` (versioned). Holds no secret: store URLs are kept
without their SAS (credentials are looked up again when needed)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from azrender.enums import BackendKind
from azrender.errors import JobError

VERSION = 1
BACKENDS = BackendKind.values()


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    backend: str  # "local" | "batch"
    scene: str
    store_url: str  # where assets and outputs live, without SAS
    batch_url: str | None = None
    local_root: str | None = None  # the local backend's root
    profile: str | None = None
    task_count: int = 0
    expected: dict | None = None  # the job's outputs.json (azrender.jobs.renderplan): each task's files per frame
    recipe: dict | None = None  # how the job's tasks were built (azrender.jobs.build), for retries
    retries: tuple[str, ...] = ()  # ids of the jobs that re-rendered some of its frames, oldest first


def _path(job_id: str) -> Path:
    from azrender.dirs import state_dir
    from azrender.layout import check_id

    check_id("job", job_id)  # it names a file
    folder = state_dir() / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{job_id}.json"


def save(record: JobRecord) -> Path:
    from azrender.redact import redact, redact_obj

    path = _path(record.job_id)
    temp = path.with_suffix(".tmp")
    doc = {"version": VERSION, **{k: redact(v) if isinstance(v, str) else redact_obj(v) for k, v in asdict(record).items()}}
    temp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    os.replace(temp, path)
    return path


def known_ids() -> list[str]:
    """The ids of the jobs submitted from this machine (records kept)."""
    return sorted(p.stem for p in _path("x").parent.glob("*.json"))


def load(job_id: str) -> JobRecord | None:
    """The record of ``job_id``, or None when this machine did not submit it."""
    path = _path(job_id)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        raise JobError(f"job record {path} is unreadable: {exc}") from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise JobError(f"job record {path} has an unknown format (version {doc.get('version') if isinstance(doc, dict) else '?'})")
    try:
        record = JobRecord(**{k: tuple(v) if k == "retries" and isinstance(v, list) else v
                              for k, v in doc.items() if k != "version"})
    except TypeError as exc:
        raise JobError(f"job record {path} is malformed: {exc}") from None
    wrong = [f.name for f in fields(JobRecord) if not _has_type(getattr(record, f.name), f.type)]
    if wrong or record.backend not in BACKENDS:
        what = f"field {wrong[0]} has the wrong type" if wrong else f"unknown backend {record.backend!r}"
        raise JobError(f"job record {path} is malformed: {what}")
    return record


def _has_type(value, annotation: str) -> bool:
    """Whether a field read from the (user-editable) file has its annotated type."""
    if value is None:
        return annotation.endswith("| None")
    if annotation.startswith("tuple"):
        return isinstance(value, tuple) and all(type(v) is str for v in value)
    return type(value) is (int if annotation.startswith("int") else dict if annotation.startswith("dict") else str)
