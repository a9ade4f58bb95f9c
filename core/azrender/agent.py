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
import subprocess
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

log = logging.getLogger(__name__)
VERSION = 1
POLL_SECONDS = {"local": 1.0, "batch": 15.0}
GIVE_UP_AFTER = 20  # consecutive failures to reach a job before the agent stops watching it


def folder() -> Path:
    from azrender.dirs import state_dir

    path = state_dir() / "agent"
    (path / "inbox").mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


# ---- handing a submission over -----------------------------------------------------------------


def request_to_json(request) -> dict:
    doc = {}
    for f in fields(request):
        value = getattr(request, f.name)
        if f.name == "extra_dependencies":
            value = [{**d.to_json(), "scene": d.scene} for d in value]
        elif isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = [str(v) for v in value]
        doc[f.name] = value
    return doc


def request_from_json(doc: dict):
    from azrender.discovery.model import Dependency, Kind
    from azrender.pipeline import SubmitRequest

    known = {f.name for f in fields(SubmitRequest)}
    values = {k: v for k, v in doc.items() if k in known}
    for name in ("scene", "project", "download_dir"):
        if values.get(name) is not None:
            values[name] = Path(values[name])
    values["search_paths"] = tuple(Path(p) for p in values.get("search_paths") or ())
    values["extra_dependencies"] = tuple(
        Dependency(path=d["path"], exists=d["exists"], kind=Kind(d["kind"]), source=d.get("source", ""),
                   size=d.get("size"), resolved_by=d.get("resolved_by", "absolute"), pattern=d.get("pattern"),
                   scene=d.get("scene")) for d in values.get("extra_dependencies") or ())
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
    _write_private(folder() / "inbox" / f"{job_id}.json", json.dumps(doc))
    if start:
        ensure_running()
    return job_id


def _write_private(path: Path, text: str) -> None:
    temp = path.with_name(path.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temp, path)


def running() -> bool:
    from azrender.backends.local.locks import is_free

    return not is_free(folder() / "agent.lock")


def ensure_running() -> None:
    """Start a detached agent unless one holds the lock (a second one would exit at once anyway)."""
    if running():
        return
    core = Path(__file__).resolve().parents[1]
    import azure.batch

    env = dict(os.environ)  # a host's own sys.path additions reach the agent, as for the local runner
    env["PYTHONPATH"] = os.pathsep.join([str(core), str(Path(azure.batch.__file__).resolve().parents[2]),
                                         *filter(None, [env.get("PYTHONPATH")])])
    from azrender.backends.local.client import _python

    with open(folder() / "agent.log", "ab") as out:
        subprocess.Popen([_python(), "-m", "azrender", "agent"], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                         env=env, cwd=folder(), start_new_session=True)


# ---- the agent ---------------------------------------------------------------------------------


def inbox_items() -> list[Path]:
    return sorted((folder() / "inbox").glob("*.json"))


def progress_file(job_id: str) -> Path:
    return folder() / f"{job_id}.progress"


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
        _write_private(progress_file(job_id), json.dumps({"stage": "submitted", "done": 1, "total": 1, "message": ""}))
    except AzrenderError as exc:
        _write_private(folder() / f"{job_id}.error", error_line(exc))
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
        _write_private(progress_file(job_id), json.dumps({"stage": stage, "done": done, "total": total,
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
