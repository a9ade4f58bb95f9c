"""``azrender wait JOB``: wait for a job to end, showing progress; a local job whose runner died
(OOM, logout, reboot) is resumed, a job no node can run (its preparation task failed) ends the wait."""

from __future__ import annotations

import json

HELP = "wait for a job to end (resuming a local job whose runner died), then show its status"


def register(parser) -> None:
    parser.add_argument("job", help="job id")
    parser.add_argument("--backend", choices=["batch", "local"], help="default: the job's, else batch when configured")
    parser.add_argument("--profile", help="settings profile (config.toml)")
    parser.add_argument("--batch-url", help="Batch account URL (overrides the profile)")
    parser.add_argument("--json", action="store_true", help="print the final status as JSON")


def run(args) -> int:
    from azrender.backends.choose import choose_backend
    from azrender.commands.status import failure_lines, summary_line
    from azrender.progress import ProgressReporter
    from azrender.settings import load_settings

    settings = load_settings(args.profile).with_overrides(batch_url=args.batch_url)
    backend = choose_backend(args.backend, settings, job_id=args.job)
    from azrender.pipeline import wait_job

    with ProgressReporter(enabled=not args.json) as progress:
        status = wait_job(backend, args.job, progress)
    if args.json:
        print(json.dumps(status.to_json(), indent=2))
    else:
        print(summary_line(status))
        for line in failure_lines(status):
            print(line)
    return 1 if status.failed or status.preparation_failed else 0
