"""``azrender retry JOB [--frames 10-20] [--failed]``: render a job's failed or missing frames again
(see :mod:`azrender.backends.retry`); their files land beside the job's other frames."""

from __future__ import annotations

import json

HELP = "render a job's failed or missing frames again, beside its other frames"


def register(parser) -> None:
    parser.add_argument("job", help="job id (as submitted from this machine)")
    parser.add_argument("--frames", help="render these frames of the job again, whatever their state (e.g. 10-20)")
    parser.add_argument("--failed", action="store_true", help="only frames of failed tasks (default: also frames "
                                                                "whose task finished without writing them)")
    parser.add_argument("--profile", help="settings profile (config.toml)")
    parser.add_argument("--dry-run", action="store_true", help="say which frames would be rendered, send nothing")
    parser.add_argument("--wait", action="store_true", help="wait for the retried frames to finish")
    parser.add_argument("--json", action="store_true", help="print the plan (and status after --wait) as JSON")


def run(args) -> int:
    from azrender.backends.choose import choose_backend
    from azrender.errors import UsageError
    from azrender.settings import load_settings

    if args.frames and args.failed:
        raise UsageError("give --frames or --failed, not both")
    backend = choose_backend(None, load_settings(args.profile), job_id=args.job)
    from azrender.pipeline import retry_submission

    plan = backend.retry(args.job, frames=args.frames, failed_only=args.failed, dry_run=args.dry_run,
                         submission_for=retry_submission)
    doc = {"job_id": plan.job_id, "retry_job_id": plan.retry_id if plan.frames else None,
           "frames": list(plan.frames), "failed": list(plan.failed), "missing": list(plan.missing),
           "dry_run": args.dry_run}
    if not args.json:
        print(plan.describe() + (" (dry run: nothing sent)" if args.dry_run and plan.frames else ""))
    status = None
    if args.wait and plan.frames and not args.dry_run:
        from azrender.progress import ProgressReporter

        with ProgressReporter(enabled=not args.json) as progress:
            backend.wait(plan.retry_id, progress)
        status = backend.status(args.job)
        doc["status"] = status.to_json()
        if not args.json:
            print(f"{args.job}: {len(status.failed)} failed task(s) left" if status.failed else
                  f"{args.job}: every retried frame rendered")
    if args.json:
        print(json.dumps(doc, indent=2))
    return 1 if status is not None and status.failed else 0
