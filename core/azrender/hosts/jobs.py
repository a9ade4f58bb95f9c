"""A host's job list: the status of a submitted job, the download of its frames and the retry of
its failed ones, through the same backend calls as ``azrender status``, ``download`` and ``retry``."""

from __future__ import annotations

from pathlib import Path


def _backend(job_id: str, backend: str | None, profile: str | None):
    from azrender.backends.choose import choose_backend
    from azrender.settings import load_settings

    return choose_backend(backend, load_settings(profile), job_id=job_id)


def job_status(job_id: str, *, backend: str | None = None, profile: str | None = None):
    """The job's :class:`~azrender.backends.JobStatus`."""
    return _backend(job_id, backend, profile).status(job_id)


def status_line(status) -> str:
    """One line for a job list: ``running: 3/8 tasks done, 1 failed``; a job whose tasks all ended
    with some failed says ``failed``, never ``completed``."""
    done = status.count("completed") - len(status.failed)
    failed = f", {len(status.failed)} failed" if status.failed else ""
    state = "failed" if status.done and status.failed else status.state
    return f"{state}: {done}/{len(status.tasks)} tasks done{failed}"


def first_failure(status, lines: int = 3) -> str:
    """The first failed task and the last lines it printed, on one line ("" when none failed)."""
    if not status.failed:
        return ""
    task = status.failed[0]
    said = " | ".join(line.strip() for line in (task.stderr_tail or task.failure).splitlines()[-lines:] if line.strip())
    return f"task {task.id} failed (exit {task.exit_code})" + (f": {said}" if said else "")


def outcome_line(result) -> str:
    """What a host says when a submission returns: submitted (still rendering), rendered, or
    failed with the first failure's last lines; never "submitted" for a job whose tasks failed."""
    if result.dry_run_requests is not None:
        return f"azrender: job {result.job_id} would be submitted to {result.backend} ({result.task_count} task(s), dry run)"
    status = result.status
    if status is None:
        return f"azrender: job {result.job_id} submitted to {result.backend} ({result.task_count} task(s))"
    if status.failed:
        return (f"azrender: job {result.job_id} FAILED on {result.backend}: {len(status.failed)} of "
                f"{len(status.tasks)} task(s) failed; {first_failure(status)}")
    where = f"; outputs in {result.download_dir}" if result.download_dir else ""
    return f"azrender: job {result.job_id} rendered on {result.backend}: {len(status.tasks)} task(s){where}"


def download_outputs(job_id: str, dest: str | Path | None = None, *, profile: str | None = None,
                     progress=None) -> Path:
    """Download the job's frames into ``dest`` (default ``./renders/<job>``); returns the folder."""
    dest = Path(dest) if dest else Path("renders") / job_id
    if progress:
        progress("download", 0, 1, job_id)
    _backend(job_id, None, profile).download(job_id, dest)
    if progress:
        progress("download", 1, 1, job_id)
    return dest


def retry_failed(job_id: str, *, profile: str | None = None, progress=None):
    """Render the job's failed and missing frames again (``azrender retry JOB``); returns the
    :class:`~azrender.backends.retry.RetryPlan` (its ``describe()`` is the line to show)."""
    if progress:
        progress("submit", 0, 1, f"retrying {job_id}")
    plan = _backend(job_id, None, profile).retry(job_id)
    if progress:
        progress("submit", 1, 1, plan.describe())
    return plan
