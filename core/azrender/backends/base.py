"""The protocol every backend implements. The pipeline asks a backend what only it knows (can it
run this, on which pool, with which renderer) while planning, then hands it the finished plan.
Backends never import the pipeline: a plan reaches them as a value (see ``submit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from azrender.backends import JobStatus
from azrender.enums import BackendKind
from azrender.jobrecord import JobRecord
from azrender.progress import ProgressCallback


@dataclass(frozen=True)
class PoolChoice:
    """Where a job runs: a pool id, the pool to create first (or None) and whether the pool mounts
    the store (blobfuse / Azure Files) rather than the preparation task copying assets."""

    pool_id: str | None
    create: object | None = None  # azrender.jobs.model.PoolSpec
    mounts_store: bool = False
    blender: str | None = None  # the Blender version the pool's nodes run, when it is known (each task checks it)


class Backend(Protocol):
    """A place jobs run."""

    kind: BackendKind
    settings: object  # azrender.settings.Settings
    # Ctrl-C while waiting: True cancels the job (it runs on the artist's machine); False only
    # stops waiting (a farm job is not the artist's terminal).
    interrupt_cancels: bool = False

    # ---- while planning (nothing sent) ---------------------------------------------------------

    def check(self, *, host: str, node_os: str, storage_mode: str, storage_url: str, dry_run: bool) -> None:
        """Raise :class:`~azrender.errors.UsageError` when this backend cannot run such a job;
        called before any work (discovery included)."""

    def authenticate(self) -> None:
        """Raise the one line that says why this backend cannot be reached with the credentials
        at hand; called last while planning a submission that will be sent (before any upload)."""

    def pool(self, submission, plugin_manager) -> PoolChoice:
        """The pool for ``submission`` (:class:`azrender.pipeline.Submission`)."""

    def executable(self, host: str) -> str | None:
        """The renderer's path for tasks, or None for the host command's default name."""
        return None

    def node_python(self, node_os: str) -> str:
        """The interpreter that runs the node tool on this backend's nodes."""
        return "python" if node_os == "windows" else "python3"

    def blender_executable(self, *, explicit: str | None, submitting: str | None, scene: tuple | None,
                           scene_name: str) -> str | None:
        """The Blender for tasks: ``explicit`` is ``--blender VERSION|PATH`` (else the profile's ``blender``),
        ``submitting`` the Blender (or bpy wheel's Python) submitting, ``scene`` the (major, minor)
        that saved the scene. Raise one clear line when this backend's Blender cannot open it."""
        return self.executable("blender")

    def pool_size(self, requests, *, dry_run: bool) -> tuple[str, int]:
        """(VM size, tasks that run at once) of the pool ``requests`` go to, for the cost estimate
        and budget waves; a dry run reads nothing remote."""
        return "unknown", 1

    # ---- acting ----------------------------------------------------------------------------------

    def submit(self, plan, record: JobRecord) -> JobRecord:
        """Send ``plan.requests`` (a :class:`~azrender.jobs.batch_models.BatchRequests`) exactly as
        planned, all or nothing; return ``record`` completed with what this backend adds."""

    def wait(self, job_id: str, progress: ProgressCallback) -> JobStatus:
        """Until the job's tasks all completed, calling ``progress("render", done, total, msg)``."""

    def status(self, job_id: str) -> JobStatus:
        """The job's state and every task's, failed ones with their last output lines."""

    def download(self, job_id: str, dest: Path, *, logs: bool = False, store_url: str | None = None) -> dict:
        """Bring the job's outputs (and logs) into ``dest``; returns the sync stage's counts.
        ``store_url``: the outputs store (default: the configured one, else the job record's)."""
        from azrender.backends.outputs import download_outputs, outputs_url

        return download_outputs(job_id, store_url or outputs_url(job_id, self.settings), dest, logs=logs)

    def cancel(self, job_id: str) -> None:
        """Stop the job: no new task starts, running ones are killed, release tasks run."""

    def send(self, requests) -> None:
        """Create the job and tasks of ``requests`` (a BatchRequests without a pool) on their
        existing pool, all or nothing: a follow-up job of :meth:`retry`."""

    def retry(self, job_id: str, *, frames: str | None = None, failed_only: bool = False, dry_run: bool = False,
              submission_for=None):
        """Render ``job_id``'s failed and missing frames (or ``frames``) again in a follow-up job
        whose frames land beside the others; returns the :class:`~azrender.backends.retry.RetryPlan`.
        ``submission_for``: :func:`azrender.pipeline.retry_submission` (the task hooks' view)."""
        from azrender.backends.retry import retry_job

        return retry_job(self, job_id, frames=frames, failed_only=failed_only, dry_run=dry_run,
                         submission_for=submission_for)
