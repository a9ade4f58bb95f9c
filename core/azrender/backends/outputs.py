"""A job's outputs: where they are stored and how they come home. Frames and logs go from the
nodes to the outputs store (``jobs/<job>/outputs``, ``jobs/<job>/logs``) on every backend, so
downloading them is the sync stage's incremental, resumable download."""

from __future__ import annotations

from pathlib import Path


def download_outputs(job_id: str, outputs_url: str, dest: Path, *, logs: bool = False) -> dict:
    """Download ``jobs/<job>/outputs`` (and ``logs``) of the store at ``outputs_url`` into ``dest``
    (``dest/<task id>/...``, logs under ``dest/logs/<task id>/``); returns the sync stage's counts.
    A job this machine did not submit and the store has nothing of is a mistyped id: an error."""
    from azrender import jobrecord, layout
    from azrender.layout import check_id
    from azrender.sync import engine
    from azrender.sync.stores import open_store

    check_id("job", job_id)
    store = open_store(outputs_url)
    if jobrecord.load(job_id) is None and not any(True for _ in store.list(layout.job_key(job_id) + "/")):
        raise unknown_job(job_id, store)  # before creating anything at dest
    summary = engine.download(store, dest, prefix=layout.job_key(job_id, "outputs")).to_json()
    if logs:
        log_summary = engine.download(store, dest / "logs", prefix=layout.job_key(job_id, "logs")).to_json()
        summary = {k: v + log_summary.get(k, 0) if isinstance(v, (int, float)) else v for k, v in summary.items()}
    return summary


def outputs_url(job_id: str, settings, *, default: str | None = None) -> str:
    """Where ``job_id``'s outputs are: the configured outputs/storage URL, else the store this
    machine submitted the job to (its job record), else ``default``."""
    from azrender import jobrecord
    from azrender.errors import UsageError
    from azrender.sync.smb_store import is_smb_url

    record = jobrecord.load(job_id)
    storage = settings.storage_url if settings.storage_url and not is_smb_url(settings.storage_url) else None
    url = settings.outputs_url or storage or (record.store_url if record else default)  # outputs never go to a share
    if url:
        return url
    if record is None:
        raise unknown_job(job_id, None)
    raise UsageError("no outputs store configured", hint="pass --storage-url or set storage_url in config.toml")


def unknown_job(job_id: str, store):
    """The one line for a job id neither this machine nor ``store`` knows, with the closest known ids."""
    import difflib

    from azrender import jobrecord, layout
    from azrender.errors import JobError

    known = set(jobrecord.known_ids())
    if store is not None:
        known |= {obj.key.split("/")[1] for obj in store.list(layout.JOBS + "/") if obj.key.count("/") >= 2}
    close = difflib.get_close_matches(job_id, sorted(known), n=3, cutoff=0.6)
    where = (f"nothing under {layout.job_key(job_id)}/ in {store.display_url}" if store is not None
             else "no job record on this machine and no store configured (--storage-url)")
    return JobError(f"no job {job_id!r}: {where}" + (f"; did you mean {', '.join(close)}?" if close else ""))
