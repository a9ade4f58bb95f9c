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


def download_outputs(job_id: str, outputs_url: str, dest: Path, *, logs: bool = False, known_here: bool = True) -> dict:
    """Download ``jobs/<job>/outputs`` (and ``logs``) of the store at ``outputs_url`` into ``dest``
    (``dest/<task id>/...``, logs under ``dest/logs/<task id>/``); returns the sync stage's counts.
    ``known_here=False`` (no job record on this machine): a job the store has nothing of is an error."""
    from azrender import layout
    from azrender.jobs.build import check_id
    from azrender.sync import engine
    from azrender.sync.stores import open_store

    check_id("job", job_id)
    store = open_store(outputs_url)
    if not known_here and not any(True for _ in store.list(layout.job_key(job_id) + "/")):
        raise unknown_job(job_id, store)  # before creating anything at dest
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

    record = jobrecord.load(job_id)
    url = settings.outputs_url or settings.storage_url or (record.store_url if record else None)
    if not url:
        raise unknown_job(job_id, None)
    return url


def unknown_job(job_id: str, store):
    """The one line for a job id neither this machine nor ``store`` knows, with the closest known ids."""
    import difflib

    from azrender import jobrecord, layout
    from azrender.errors import JobError

    known = set(jobrecord.known_ids())
    if store is not None:
        known |= {obj.key.split("/")[1] for obj in store.list(layout.JOBS + "/") if obj.key.count("/") >= 2}
    close = difflib.get_close_matches(job_id, sorted(known), n=3, cutoff=0.6)
    where = f"nothing under {layout.job_key(job_id)}/ in {store.display_url}" if store is not None else \
        "no job record on this machine and no store configured (--storage-url)"
    return JobError(f"no job {job_id!r}: {where}" + (f"; did you mean {', '.join(close)}?" if close else ""))


def run(args) -> int:
    from azrender.settings import load_settings

    from azrender import jobrecord

    record = jobrecord.load(args.job)
    if record is not None and record.backend == "local" and record.local_root:
        from azrender.backends.local import LocalBatchClient

        LocalBatchClient(Path(record.local_root)).resume(args.job)  # a dead runner is replaced, or said
    url = args.storage_url or outputs_url(args.job, load_settings(args.profile))
    dest = args.dest or Path("renders") / args.job
    summary = download_outputs(args.job, url, dest, logs=args.logs, known_here=record is not None)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{args.job}: {summary.get('downloaded', 0)} file(s) downloaded, {summary.get('skipped', 0)} already "
              f"in {dest}")
    return 0
