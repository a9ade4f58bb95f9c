"""``azrender wait JOB``: wait for a job to end, showing progress; a local job whose runner died
(OOM, logout, reboot) is resumed, a job no node can run (its preparation task failed) ends the wait."""

from __future__ import annotations

from azrender.commands.status import register  # noqa: F401  (the same arguments as status)

HELP = "wait for a job to end (resuming a local job whose runner died), then show its status"


def run(args) -> int:
    from azrender.commands.status import backend_for, show
    from azrender.progress import ProgressReporter

    from azrender.pipeline import wait_job
    from azrender.watch import record as watch

    backend = backend_for(args)
    with ProgressReporter(enabled=not args.json) as progress:
        status = wait_job(backend, args.job, progress)  # follows the job's gate, if any
    return show(status, backend.settings, as_json=args.json, watched=watch.load(args.job))
