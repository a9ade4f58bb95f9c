"""The background agent: ``azrender agent``, one per user, started on demand.

Hosts (and ``submit --background``) hand a submission over with :func:`hand_over` and return at
once: the request lands in the agent's inbox (``<state dir>/agent/inbox/<job>.json``, 0600) and an
agent is started unless one runs. The agent submits it (discover, sync, submit: the pipeline), so
an upload goes on after the host application is closed; killed mid-upload, the next agent submits
the same job id again and the sync sends only what is not in the store yet (staged blocks are
reused). It then watches every job with a watch record: advances its gate (scouts, budget waves),
downloads finished frames as they appear (incremental, resumable), and notifies at the end. It
exits when nothing is left to do.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path

from azrender.watch.agentproc import ensure_running, folder, inbox_items, progress_file, running, write_private

__all__ = ["Handover", "ensure_running", "folder", "hand_over", "inbox_items", "progress_file", "run", "running"]
log = logging.getLogger(__name__)
VERSION = 2
POLL_SECONDS = {"local": 1.0, "batch": 15.0}
GIVE_UP_AFTER = 20  # consecutive failures to reach a job before the agent stops watching it


# ---- handing a submission over -----------------------------------------------------------------


def encode(value):
    """A request as JSON, exactly: every dataclass, enum, path and tuple in it is tagged with its
    type, so what the agent submits is what the host collected (render settings, report...)."""
    from enum import Enum
    from pathlib import PurePath

    def name(kind: type) -> str:
        return f"{kind.__module__}:{kind.__qualname__}"

    if is_dataclass(value) and not isinstance(value, type):
        return {"dataclass": name(type(value)), "fields": {f.name: encode(getattr(value, f.name))
                                                            for f in fields(value)
                                                            if f.init and not f.name.startswith("_")}}  # _: caches
    if isinstance(value, Enum):
        return {"enum": name(type(value)), "value": value.value}
    if isinstance(value, PurePath):
        return {"path": str(value)}
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"dict": {str(k): encode(v) for k, v in value.items()}}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"azrender cannot hand a {type(value).__name__} to the background agent")


def decode(doc):
    """:func:`encode` undone; only azrender's own types are rebuilt."""
    import importlib

    def kind(text: str) -> type:
        module, _, qualname = text.partition(":")
        if module != "azrender" and not module.startswith("azrender."):
            raise ValueError(f"not an azrender type: {text}")
        found = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
        return found

    if isinstance(doc, list):
        return [decode(v) for v in doc]
    if not isinstance(doc, dict):
        return doc
    if "dataclass" in doc:
        return kind(doc["dataclass"])(**{k: decode(v) for k, v in doc["fields"].items()})
    if "enum" in doc:
        return kind(doc["enum"])(doc["value"])
    if "path" in doc:
        return Path(doc["path"])
    if "tuple" in doc:
        return tuple(decode(v) for v in doc["tuple"])
    return {k: decode(v) for k, v in doc["dict"].items()}


@dataclass(frozen=True)
class Handover:
    """A submission the agent took: its job id and where its frames come back as they finish."""

    job_id: str
    backend: str | None  # None: the agent decides (Azure Batch when the profile has an account)
    download_dir: Path

    def line(self) -> str:
        """What a host or the CLI says once the submission is handed over."""
        return (f"azrender: job {self.job_id} handed to the background agent: it uploads and submits it (also after "
                f"this application is closed) and brings the frames to {self.download_dir}")


def hand_over(request, *, remove_after: Path | None = None, start: bool = True) -> Handover:
    """Queue ``request`` for the agent and make sure one runs; returns at once.
    ``remove_after``: a submission copy the agent deletes once the job is submitted."""
    from azrender.pipeline import make_job_id, plan_submission

    job_id = request.job_id or make_job_id(request.job_name or Path(request.scene).stem)
    scene = Path(os.path.abspath(request.scene))
    request = replace(request, job_id=job_id, scene=scene, wait=False,
                      download_dir=Path(os.path.abspath(request.download_dir or scene.parent / "renders" / job_id)))
    # Plan first (a dry run: nothing sent, no credentials): what would refuse the job (a studio
    # plugin, a private file, no renderer here) is said now, in one line, not later in the agent's log.
    plan_submission(replace(request, dry_run=True)).check()
    doc = {"version": VERSION, "scene": str(scene), "request": encode(request),
           "remove_after": str(remove_after) if remove_after else None}
    write_private(folder() / "inbox" / f"{job_id}.json", json.dumps(doc))
    if start:
        ensure_running()
    return Handover(job_id, request.backend.value if request.backend else None, request.download_dir)


# ---- the agent ---------------------------------------------------------------------------------


def submit_item(path: Path) -> None:
    """Submit one handed-over request; a job already submitted (by an agent killed after sending
    it) is not sent twice. A refusal is kept for ``azrender jobs`` in ``<job>.error``."""
    from azrender import jobrecord
    from azrender.errors import AzrenderError, JobError
    from azrender.hosts.background import error_line
    from azrender.pipeline import submit

    doc = json.loads(path.read_text(encoding="utf-8"))
    job_id = path.stem
    try:
        if doc.get("version") != VERSION:
            raise JobError(f"{path.name} was handed over by another azrender version: submit the scene again")
        request = decode(doc["request"])
        if jobrecord.load(job_id) is None:
            submit(request, progress=_progress_writer(job_id))
        write_private(progress_file(job_id), json.dumps({"stage": "submitted", "done": 1, "total": 1, "message": ""}))
    except AzrenderError as exc:
        write_private(folder() / f"{job_id}.error", error_line(exc))
        log.warning("job %s was not submitted: %s", job_id, error_line(exc))
    finally:
        if doc.get("remove_after"):
            Path(doc["remove_after"]).unlink(missing_ok=True)
    path.unlink(missing_ok=True)


def _progress_writer(job_id: str):
    last = [0.0]

    def progress(stage: str, done: float, total: float, message: str = "") -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and done < total:
            return
        last[0] = now
        write_private(progress_file(job_id), json.dumps({"stage": stage, "done": done, "total": total,
                                                          "message": message}))

    return progress


def watch_step(record, failures: dict) -> None:
    """Move one watched job on and bring its new frames home."""
    from azrender import jobrecord
    from azrender.backends.outputs import download_outputs
    from azrender.watch import gate
    from azrender.watch.record import DONE

    try:
        client = gate.open_client(record.job_id)
        status = gate.job_status(client, record)
        after = gate.advance(record.job_id, client=client, status=status)
        job = jobrecord.load(record.job_id)
        if record.download_dir and job is not None:
            download_outputs(record.job_id, job.store_url, Path(record.download_dir))
            if after is not None and after.state == DONE:
                from azrender.report import write_report

                write_report(Path(record.download_dir), status, after)
        failures.pop(record.job_id, None)
    except Exception as exc:  # one unreachable job must not stop the others
        failures[record.job_id] = failures.get(record.job_id, 0) + 1
        log.warning("job %s: %s", record.job_id, exc)


def run(*, once: bool = False) -> int:
    """The agent's loop; returns at once when another agent runs."""
    from azrender.backends.local.locks import try_lock
    from azrender.watch import record as watch
    from azrender.watch.record import DONE, HELD

    fd = try_lock(folder() / "agent.lock")
    if fd is None:
        return 0
    (folder() / "agent.pid").write_text(str(os.getpid()))
    failures: dict[str, int] = {}
    try:
        while True:
            for item in inbox_items():
                submit_item(item)
            active = [r for r in watch.all_records()
                      if r.state not in (DONE, HELD) and failures.get(r.job_id, 0) < GIVE_UP_AFTER]
            for record in active:
                watch_step(record, failures)
            if once or (not inbox_items() and not active):
                return 0
            time.sleep(min(POLL_SECONDS.get(r.backend, 15.0) for r in active) if active else 0.2)
    finally:
        os.close(fd)
