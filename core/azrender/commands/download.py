"""``azrender download JOB --dest DIR``: bring a job's rendered frames (and, with ``--logs``, its
task logs) from the outputs store. Incremental and resumable: files already downloaded with the
same content are skipped, partial files are never left looking complete (see azrender.backends.outputs).
"""

from __future__ import annotations

import json
from pathlib import Path

HELP = "download a job's rendered frames (incremental, resumable)"


def register(parser) -> None:
    parser.add_argument("job", help="job id")
    parser.add_argument("--dest", type=Path, help="destination folder (default ./renders/JOB)")
    parser.add_argument("--logs", action="store_true", help="also download the tasks' stdout/stderr")
    parser.add_argument("--profile", help="settings profile (config.toml)")
    parser.add_argument("--storage-url", help="outputs store URL (overrides the profile)")
    parser.add_argument("--json", action="store_true", help="print a summary as JSON")


def run(args) -> int:
    from azrender.backends.choose import choose_backend
    from azrender.settings import load_settings

    dest = args.dest or Path("renders") / args.job
    backend = choose_backend(None, load_settings(args.profile), job_id=args.job)
    summary = backend.download(args.job, dest, logs=args.logs, store_url=args.storage_url)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{args.job}: {summary.get('downloaded', 0)} file(s) downloaded, {summary.get('skipped', 0)} already "
              f"in {dest}")
    return 0
