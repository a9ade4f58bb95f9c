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
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    c, retried = doc["counts"], len(doc["retried"])
    print(f"{status.job_id} ({status.backend}): {status.state}; {len(status.tasks)} tasks: "
          f"{c['completed']} completed, {c['running'] + c['preparing']} running, {c['active']} waiting, "
          f"{len(status.failed)} failed" + (f" ({retried} more failed, then retried)" if retried else ""))
    for task in status.failed:
        where, why = f" (in {task.job})" if task.job else "", f": {task.reason}" if task.reason else ""
        print(f"  {task.id}{where} failed (exit code {task.exit_code}{why}, {task.retries} retries)"
              + (f": {task.failure}" if task.failure else ""))
        for line in task.stderr_tail.splitlines():
            print(f"    | {line}")
    for node, why in status.quarantined:
        print(f"  node {node} quarantined: {why}")
    return 1 if status.failed else 0
