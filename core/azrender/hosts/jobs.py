"""A host's job list: the status of a submitted job, the download of its frames and the retry of
its failed ones, through the same backend calls as ``azrender status``, ``download`` and ``retry``."""

from __future__ import annotations

from pathlib import Path

from azrender.joblist import first_failure  # noqa: F401  (hosts show it under a failed job)


def _backend(job_id: str, backend: str | None, profile: str | None):
    from azrender.backends.choose import choose_backend
    from azrender.settings import load_settings

    return choose_backend(backend, load_settings(profile), job_id=job_id)


def job_status(job_id: str, *, backend: str | None = None, profile: str | None = None):
    """The job's :class:`~azrender.backends.JobStatus`; the look moves a watched job's gate on."""
    from azrender.watch import gate

    status = _backend(job_id, backend, profile).status(job_id)
    gate.advance(job_id, status=status)
    return status


def frame_lines(status, *, profile: str | None = None) -> list[str]:
    """Per frame what the job rendered and verified, as ``azrender status`` says it, for a host
    panel: on any machine with the job's profile (see :mod:`azrender.backends.framestatus`)."""
    from azrender.backends.framestatus import frame_report
    from azrender.errors import AzrenderError
    from azrender.settings import load_settings

    try:
        return [line.strip() for line in frame_report(status, load_settings(profile)).lines()]
    except AzrenderError as exc:  # the panel must still draw
        return [f"per-frame status unknown: {exc.message}"]


def agent_line(job_id: str) -> str | None:
    """For a job handed to the background agent and not submitted yet, its one line for a job
    list ("uploading: sync 40% wood.png", "not submitted: <why>"); None once it is submitted.
    An agent is started if the job waits for one (the last was killed)."""
    from azrender.joblist import pending_row
    from azrender.watch.agentproc import resume

    row = pending_row(job_id)
    if row is not None and row.state == "uploading":
        resume()
    return None if row is None else f"{row.state}: {row.progress}"


IMAGES = (".png", ".jpg", ".jpeg", ".exr", ".tif", ".tiff", ".bmp", ".tga", ".hdr")


def latest_frame(folder: str | Path | None) -> Path | None:
    """The frame that came into ``folder`` last (a job's download folder, which the agent fills
    as frames finish), for a host's preview; None before the first."""
    if not folder:
        return None
    try:
        frames = [p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGES and p.is_file()
                  and not p.name.startswith(".")]
        # ctime: when it arrived here (a download may keep the rendered file's mtime)
        return max(frames, key=lambda p: (p.stat().st_ctime_ns, p.name), default=None)
    except OSError:  # the folder changes under us: the next look sees it
        return None


def job_lines(job_id: str) -> list[str]:
    """What a host panel shows under a selected job, one fact a line, the hint last: scouting or
    held and why, the estimate, the budget, and after the job its node-hours and cost. Empty for
    a job azrender does not watch (or whose record cannot be read: the panel must still draw)."""
    from azrender.errors import AzrenderError
    from azrender.watch import record as watch
    from azrender.watch.view import watch_lines

    try:
        watched = watch.load(job_id)
    except AzrenderError:
        return []
    return watch_lines(watched) if watched is not None else []


def status_line(status) -> str:
    """One line for a job list: ``running: 3/8 tasks done, 1 failed``; a job whose tasks all ended
    with some failed says ``failed``, never ``completed``."""
    done = status.count("completed") - len(status.failed)
    failed = f", {len(status.failed)} failed" if status.failed else ""
    state = "failed" if status.done and status.failed else status.state
    return f"{state}: {done}/{len(status.tasks)} tasks done{failed}"


def outcome_line(result) -> str:
    """What a host says when a submission returns: submitted (still rendering), rendered, or
    failed with the first failure's last lines; never "submitted" for a job whose tasks failed."""
    from azrender.backends import LABELS

    backend = LABELS.get(result.backend, result.backend)  # one name per backend in every host
    if result.dry_run_requests is not None:
        return f"azrender: job {result.job_id} would be submitted to {backend} ({result.task_count} task(s), dry run)"
    status = result.status
    if status is None:
        return f"azrender: job {result.job_id} submitted to {backend} ({result.task_count} task(s))"
    if status.failed:
        return (f"azrender: job {result.job_id} FAILED on {backend}: {len(status.failed)} of "
                f"{len(status.tasks)} task(s) failed; {first_failure(status)}")
    where = f"; outputs in {result.download_dir}" if result.download_dir else ""
    return f"azrender: job {result.job_id} rendered on {backend}: {len(status.tasks)} task(s){where}"


def default_download_dir(job_id: str) -> Path:
    """``renders/<job>`` beside the scene the job was submitted from (this machine's job record),
    else under the current folder."""
    from azrender import jobrecord

    record = jobrecord.load(job_id)
    return (Path(record.scene).parent if record else Path()) / "renders" / job_id


def download_outputs(job_id: str, dest: str | Path | None = None, *, profile: str | None = None,
                     progress=None) -> Path:
    """Download the job's frames into ``dest`` (default :func:`default_download_dir`); returns the folder."""
    dest = Path(dest) if dest else default_download_dir(job_id)
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
    from azrender.pipeline import retry_submission

    plan = _backend(job_id, None, profile).retry(job_id, submission_for=retry_submission)
    if progress:
        progress("submit", 1, 1, plan.describe())
    return plan
