"""``azrender status JOB``: task counts and failed tasks with the last lines of their stderr."""

from __future__ import annotations

import json

HELP = "show a job's progress and its failed tasks"


def register(parser) -> None:
    parser.add_argument("job", help="job id")
    parser.add_argument("--backend", choices=["batch", "local"], help="default: batch when configured, else local")
    parser.add_argument("--profile", help="settings profile (config.toml)")
    parser.add_argument("--batch-url", help="Batch account URL (overrides the profile)")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")


def batch_job_status(job_id: str, settings):
    from azrender.backends.batch import batch_status, make_client
    from azrender.settings import batch_credential

    return batch_status(make_client(settings.batch_url, batch_credential(settings)), job_id)


def local_job_status(job_id: str, settings):
    from azrender.backends.local import LocalBatchClient, default_root

    return LocalBatchClient(default_root()).status(job_id)


# backend name -> function(job id, settings) -> azrender.backends.JobStatus
BACKENDS = {"batch": batch_job_status, "local": local_job_status}


def job_status(job_id: str, settings, backend: str | None = None):
    from azrender.errors import UsageError

    from azrender import jobrecord

    record = jobrecord.load(job_id) if backend is None else None  # submitted from here: its backend
    name = backend or (record.backend if record else "batch" if settings.has_batch else "local")
    if name == "batch" and not settings.has_batch:
        raise UsageError("no Batch account configured", hint="pass --batch-url or set batch_url in config.toml")
    return BACKENDS[name](job_id, settings)


def to_json(status) -> dict:
    counts = {s: status.count(s) for s in ("active", "preparing", "running", "completed")}
    return {"job_id": status.job_id, "backend": status.backend, "state": status.state, "counts": counts,
            "failed": [{"id": t.id, "exit_code": t.exit_code, "retries": t.retries, "node": t.node,
                        "failure": t.failure, "stderr_tail": t.stderr_tail} for t in status.failed],
            "done": status.done}


def run(args) -> int:
    from azrender.settings import load_settings

    settings = load_settings(args.profile).with_overrides(batch_url=args.batch_url)
    status = job_status(args.job, settings, args.backend)
    doc = to_json(status)
    watched = _advance(args.job, status)
    if watched is not None:
        from azrender.watch.view import watch_json

        doc.update(watch_json(watched))
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    c = doc["counts"]
    print(f"{status.job_id} ({status.backend}): {status.state}; {len(status.tasks)} tasks: "
          f"{c['completed']} completed, {c['running'] + c['preparing']} running, {c['active']} waiting, "
          f"{len(status.failed)} failed")
    for task in status.failed:
        print(f"  {task.id} failed (exit code {task.exit_code}, {task.retries} retries)"
              + (f": {task.failure}" if task.failure else ""))
        for line in task.stderr_tail.splitlines():
            print(f"    | {line}")
    if watched is not None:
        from azrender.watch.view import watch_lines

        for line in watch_lines(watched):
            print(line)
    return 1 if status.failed else 0


def _advance(job_id: str, status):
    """Looking at a watched job moves its gate on (scouts checked, waves added, usage at the end)."""
    from azrender.watch import gate
    from azrender.watch import record as watch

    if watch.load(job_id) is None:
        return None
    return gate.advance(job_id, status=status)
