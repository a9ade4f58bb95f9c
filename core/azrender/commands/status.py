"""``azrender status JOB``: task counts and failed tasks with the last lines of their stderr."""

from __future__ import annotations

import json

HELP = "show a job's progress and its failed tasks"


def register(parser) -> None:
    """The arguments of every command about one job (``status``, ``wait``)."""
    from azrender.enums import BackendKind

    parser.add_argument("job", help="job id")
    parser.add_argument("--backend", choices=BackendKind.values(), help="default: the job's, else batch when configured")
    parser.add_argument("--profile", help="settings profile (config.toml)")
    parser.add_argument("--batch-url", help="Batch account URL (overrides the profile)")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")


def backend_for(args):
    from azrender.backends.choose import choose_backend
    from azrender.settings import load_settings

    settings = load_settings(args.profile).with_overrides(batch_url=args.batch_url)
    return choose_backend(args.backend, settings, job_id=args.job)


def run(args) -> int:
    from azrender.joblist import pending_row

    pending = pending_row(args.job)
    if pending is not None:  # still with the background agent: no backend knows it yet
        if args.json:
            print(json.dumps({"job_id": args.job, "state": pending.state, "progress": pending.progress, "done": False}))
        else:
            print(f"{args.job}: {pending.state} (with the background agent): {pending.progress}")
        return 1 if pending.state == "not submitted" else 0
    backend = backend_for(args)
    status = backend.status(args.job)
    return show(status, backend.settings, as_json=args.json, watched=_advance(args.job, status))


def show(status, settings, *, as_json: bool, watched=None) -> int:
    """Print ``status`` (one JSON object, or a summary line, each frame and what failed) with a
    watched job's gate, estimate and usage; ``settings``: the profile's (the job's stores); 1 when
    anything failed (a frame's files missing from the outputs store included)."""
    from azrender.backends.framestatus import frame_report
    from azrender.watch.view import watch_json, watch_lines

    frames = frame_report(status, settings)
    if as_json:
        print(json.dumps({**status.to_json(), **frames.to_json(), **(watch_json(watched) if watched else {})}, indent=2))
        return 0
    print(summary_line(status))
    for line in frames.lines() + failure_lines(status) + (watch_lines(watched) if watched else []):
        print(line)
    return 1 if status.failed or status.preparation_failed or frames.missing else 0


def _advance(job_id: str, status):
    """Looking at a watched job moves its gate on (scouts checked, waves added, usage at the end)."""
    from azrender.watch import gate
    from azrender.watch import record as watch

    if watch.load(job_id) is None:
        return None
    return gate.advance(job_id, status=status)


def summary_line(status) -> str:
    c = {s: status.count(s) for s in ("active", "preparing", "running", "completed")}
    retried = sum(1 for t in status.tasks if t.retried)
    return (f"{status.job_id} ({status.backend}): {status.state}; {len(status.tasks)} tasks: "
            f"{c['completed']} completed, {c['running'] + c['preparing']} running, {c['active']} waiting, "
            f"{len(status.failed)} failed" + (f" ({retried} more failed, then retried)" if retried else ""))


def failure_lines(status) -> list[str]:
    """What went wrong, for a terminal: each failed preparation task and task, then its output tail;
    then the nodes the job no longer uses."""
    lines = []
    for task in status.preparation_failed:
        lines.append(f"  job preparation failed on {task.node} (exit code {task.exit_code})"
                     + (f": {task.failure}" if task.failure else ""))
        lines += [f"    | {line}" for line in task.stderr_tail.splitlines()]
    if status.stuck:
        lines.append("  no node can run the job's tasks: they wait for a node whose preparation succeeds "
                     "(fix the cause, then submit again)")
    for task in status.failed:
        where, why = f" (in {task.job})" if task.job else "", f": {task.reason}" if task.reason else ""
        requeues = f", {task.requeues} requeued (node preempted or rebooted)" if task.requeues else ""
        lines.append(f"  {task.id}{where} failed (exit code {task.exit_code}{why}, {task.retries} retries{requeues})"
                     + (f": {task.failure}" if task.failure else ""))
        lines += [f"    | {line}" for line in task.stderr_tail.splitlines()]
    lines += [f"  node {node} quarantined: {why}" for node, why in status.quarantined]
    return lines
