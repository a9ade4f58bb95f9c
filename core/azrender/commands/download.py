"""``azrender download JOB --dest DIR``: bring a job's rendered frames (and, with ``--logs``, its
task logs) from the outputs store. Incremental and resumable: files already downloaded with the
same content are skipped, partial files are never left looking complete (the sync stage's download).
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


def download_outputs(job_id: str, outputs_url: str, dest: Path, *, logs: bool = False) -> dict:
    """Download ``jobs/<job>/outputs`` (and ``logs``) of the store at ``outputs_url`` into ``dest``
    (``dest/<task id>/...``, logs under ``dest/logs/<task id>/``); returns the sync stage's counts."""
    from azrender import layout
    from azrender.jobs.build import check_id
    from azrender.sync import engine
    from azrender.sync.stores import open_store

    check_id("job", job_id)
    store = open_store(outputs_url)
    summary = engine.download(store, dest, prefix=layout.job_key(job_id, "outputs")).to_json()
    if logs:
        log_summary = engine.download(store, dest / "logs", prefix=layout.job_key(job_id, "logs")).to_json()
        summary = {k: v + log_summary.get(k, 0) if isinstance(v, (int, float)) else v for k, v in summary.items()}
    return summary


def outputs_url(job_id: str, settings) -> str:
    """Where ``job_id``'s outputs are: the configured outputs/storage URL, else the store this
    machine submitted the job to (its job record)."""
    from azrender import jobrecord
    from azrender.errors import UsageError

    from azrender.sync.smb_store import is_smb_url

    record = jobrecord.load(job_id)
    storage = settings.storage_url if settings.storage_url and not is_smb_url(settings.storage_url) else None
    url = settings.outputs_url or storage or (record.store_url if record else None)  # outputs never go to a share
    if not url:
        raise UsageError("no outputs store configured", hint="pass --storage-url or set storage_url in config.toml")
    return url


def run(args) -> int:
    from azrender.settings import load_settings

    url = args.storage_url or outputs_url(args.job, load_settings(args.profile))
    dest = args.dest or Path("renders") / args.job
    summary = download_outputs(args.job, url, dest, logs=args.logs)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{args.job}: {summary.get('downloaded', 0)} file(s) downloaded, {summary.get('skipped', 0)} already "
              f"in {dest}")
    return 0
