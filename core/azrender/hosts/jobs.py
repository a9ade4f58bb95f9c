"""A host's job list: the status of a submitted job, the download of its frames and the retry of
its failed ones, through the same functions as ``azrender status``, ``download`` and ``retry``."""

from __future__ import annotations

from pathlib import Path



def job_status(job_id: str, *, backend: str | None = None, profile: str | None = None):
    """The job's :class:`~azrender.backends.JobStatus`."""
    from azrender.commands.status import job_status as status_of
    from azrender.settings import load_settings

    return status_of(job_id, load_settings(profile), backend)


def status_line(status) -> str:
    """One line for a job list: ``running: 3/8 tasks done, 1 failed``."""
    done = status.count("completed") - len(status.failed)
    failed = f", {len(status.failed)} failed" if status.failed else ""
    return f"{status.state}: {done}/{len(status.tasks)} tasks done{failed}"


def download_outputs(job_id: str, dest: str | Path | None = None, *, profile: str | None = None,
                     progress=None) -> Path:
    """Download the job's frames into ``dest`` (default ``./renders/<job>``); returns the folder."""
    from azrender.commands.download import download_outputs as download
    from azrender.commands.download import outputs_url
    from azrender.settings import load_settings

    url = outputs_url(job_id, load_settings(profile))
    dest = Path(dest) if dest else Path("renders") / job_id
    if progress:
        progress("download", 0, 1, job_id)
    download(job_id, url, dest)
    if progress:
        progress("download", 1, 1, job_id)
    return dest


def retry_failed(job_id: str, *, profile: str | None = None, progress=None):
    """Render the job's failed and missing frames again (``azrender retry JOB``); returns the
    :class:`~azrender.retry.RetryPlan` (its ``describe()`` is the line to show)."""
    from azrender.retry import retry_job
    from azrender.settings import load_settings

    if progress:
        progress("submit", 0, 1, f"retrying {job_id}")
    plan = retry_job(job_id, load_settings(profile))
    if progress:
        progress("submit", 1, 1, plan.describe())
    return plan
