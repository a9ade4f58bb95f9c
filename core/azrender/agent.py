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
from dataclasses import fields, replace
from pathlib import Path

from azrender.watch.agentproc import ensure_running, folder, inbox_items, progress_file, running, write_private

__all__ = ["ensure_running", "folder", "hand_over", "inbox_items", "progress_file", "run", "running"]
log = logging.getLogger(__name__)
VERSION = 1
POLL_SECONDS = {"local": 1.0, "batch": 15.0}
GIVE_UP_AFTER = 20  # consecutive failures to reach a job before the agent stops watching it


# ---- handing a submission over -----------------------------------------------------------------


def request_to_json(request) -> dict:
    """A :class:`~azrender.pipeline.SubmitRequest` as JSON (a host's collected report included)."""
    from enum import Enum

    doc = {}
    for f in fields(request):
        value = getattr(request, f.name)
        if f.name == "report" and value is not None:
            value = {"scene": value.scene, "warnings": list(value.warnings), "best_effort": value.best_effort,
                     "dependencies": [{**d.to_json(), "scene": d.scene} for d in value.dependencies]}
        elif f.name in ("render_settings", "overrides") and value is not None:
            value = value.to_json()
        elif isinstance(value, Enum):
            value = value.value
        elif isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = [str(v) for v in value]
        doc[f.name] = value
    return doc


def request_from_json(doc: dict):
    from azrender.discovery.model import Dependency, Kind, SceneReport
    from azrender.pipeline import SubmitRequest
    from azrender.rendersettings.model import Overrides, RenderSettings

    known = {f.name for f in fields(SubmitRequest)}
    values = {k: v for k, v in doc.items() if k in known}
    for name in ("scene", "project", "download_dir"):
        if values.get(name) is not None:
            values[name] = Path(values[name])
    for name in ("search_paths", "allow_paths"):
        if name in values:
            values[name] = tuple(Path(p) for p in values[name] or ())
    if values.get("report") is not None:
        report = values["report"]
        values["report"] = SceneReport(scene=report["scene"], warnings=list(report["warnings"]),
                                       best_effort=report["best_effort"], dependencies=[
            Dependency(path=d["path"], exists=d["exists"], kind=Kind(d["kind"]), source=d.get("source", ""),
                       size=d.get("size"), resolved_by=d.get("resolved_by", "absolute"), pattern=d.get("pattern"),
                       scene=d.get("scene")) for d in report["dependencies"]])
    if values.get("render_settings") is not None:
        values["render_settings"] = RenderSettings.from_json(values["render_settings"])
    if values.get("overrides") is not None:
        values["overrides"] = Overrides(**values["overrides"])
    return SubmitRequest(**values)


def hand_over(request, *, remove_after: Path | None = None, start: bool = True) -> str:
    """Queue ``request`` for the agent and make sure one runs; returns the job id at once.
    ``remove_after``: a submission copy the agent deletes once the job is submitted."""
    from azrender.pipeline import make_job_id

    job_id = request.job_id or make_job_id(request.job_name or Path(request.scene).stem)
    scene = Path(os.path.abspath(request.scene))
    request = replace(request, job_id=job_id, scene=scene, wait=False,
                      download_dir=Path(os.path.abspath(request.download_dir or scene.parent / "renders" / job_id)))
    doc = {"version": VERSION, "request": request_to_json(request),
           "remove_after": str(remove_after) if remove_after else None}
    write_private(folder() / "inbox" / f"{job_id}.json", json.dumps(doc))
    if start:
        ensure_running()
    return job_id


# ---- the agent ---------------------------------------------------------------------------------


def submit_item(path: Path) -> None:
    """Submit one handed-over request; a job already submitted (by an agent killed after sending
    it) is not sent twice. A refusal is kept for ``azrender jobs`` in ``<job>.error``."""
    from azrender import jobrecord
    from azrender.errors import AzrenderError
    from azrender.hosts.background import error_line
    from azrender.pipeline import submit

    doc = json.loads(path.read_text(encoding="utf-8"))
    request = request_from_json(doc["request"])
    job_id = request.job_id
    try:
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
