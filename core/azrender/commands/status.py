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

    client = LocalBatchClient(default_root())
    client.resume(job_id)  # a dead runner (OOM, logout, reboot) is replaced, or its failure said
    return client.status(job_id)


# backend name -> function(job id, settings) -> azrender.backends.JobStatus
BACKENDS = {"batch": batch_job_status, "local": local_job_status}


def backend_of(job_id: str, settings, backend: str | None = None) -> str:
    """The backend ``job_id`` runs on: as given, else its job record's, else batch when configured."""
    from azrender.errors import UsageError

    from azrender import jobrecord

    record = jobrecord.load(job_id) if backend is None else None  # submitted from here: its backend
    name = backend or (record.backend if record else "batch" if settings.has_batch else "local")
    if name == "batch" and not settings.has_batch:
        raise UsageError("no Batch account configured", hint="pass --batch-url or set batch_url in config.toml")
    return name


def job_status(job_id: str, settings, backend: str | None = None):
    return BACKENDS[backend_of(job_id, settings, backend)](job_id, settings)


def to_json(status) -> dict:
    counts = {s: status.count(s) for s in ("active", "preparing", "running", "completed")}
    return {"job_id": status.job_id, "backend": status.backend, "state": status.state, "counts": counts,
            "failed": [_task_json(t) for t in status.failed],
            "preparation_failed": [_task_json(t) for t in status.preparation_failed],
            "stuck": status.stuck, "done": status.done}


def _task_json(t) -> dict:
    return {"id": t.id, "exit_code": t.exit_code, "retries": t.retries, "node": t.node, "failure": t.failure,
            "stderr_tail": t.stderr_tail}


def failure_lines(status) -> list[str]:
    """What went wrong, for a terminal: each failed task and preparation task, then its output tail."""
    lines = []
    for task in status.preparation_failed:
        lines.append(f"  job preparation failed on {task.node} (exit code {task.exit_code})"
                     + (f": {task.failure}" if task.failure else ""))
        lines += [f"    | {line}" for line in task.stderr_tail.splitlines()]
    if status.stuck:
        lines.append("  no node can run the job's tasks: they wait for a node whose preparation succeeds "
                     "(fix the cause, then submit again)")
    for task in status.failed:
        lines.append(f"  {task.id} failed (exit code {task.exit_code}, {task.retries} retries)"
                     + (f": {task.failure}" if task.failure else ""))
        lines += [f"    | {line}" for line in task.stderr_tail.splitlines()]
    return lines


def summary_line(status) -> str:
    c = {s: status.count(s) for s in ("active", "preparing", "running", "completed")}
    return (f"{status.job_id} ({status.backend}): {status.state}; {len(status.tasks)} tasks: "
            f"{c['completed']} completed, {c['running'] + c['preparing']} running, {c['active']} waiting, "
            f"{len(status.failed)} failed")


def run(args) -> int:
    from azrender.settings import load_settings

    settings = load_settings(args.profile).with_overrides(batch_url=args.batch_url)
    status = job_status(args.job, settings, args.backend)
    doc = to_json(status)
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(summary_line(status))
    for line in failure_lines(status):
        print(line)
    return 1 if status.failed or status.preparation_failed else 0
