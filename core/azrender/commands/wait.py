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
    from azrender.commands.status import backend_of, failure_lines, summary_line, to_json
    from azrender.progress import ProgressReporter
    from azrender.settings import load_settings

    settings = load_settings(args.profile).with_overrides(batch_url=args.batch_url)
    backend = backend_of(args.job, settings, args.backend)
    with ProgressReporter(enabled=not args.json) as progress:
        if backend == "local":
            from azrender.backends.local import LocalBatchClient, default_root

            client = LocalBatchClient(default_root())
            client.resume(args.job)
            status = client.wait(args.job, progress=progress)
        else:
            from azrender.backends.batch import make_client, wait_batch
            from azrender.settings import batch_credential

            status = wait_batch(make_client(settings.batch_url, batch_credential(settings)), args.job, progress)
    if args.json:
        print(json.dumps(to_json(status), indent=2))
    else:
        print(summary_line(status))
        for line in failure_lines(status):
            print(line)
    return 1 if status.failed or status.preparation_failed else 0
