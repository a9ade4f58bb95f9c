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


def run(args) -> int:
    from azrender.backends.choose import choose_backend
    from azrender.settings import load_settings

    settings = load_settings(args.profile).with_overrides(batch_url=args.batch_url)
    status = choose_backend(args.backend, settings, job_id=args.job).status(args.job)
    doc = status.to_json()
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
