"""Render a job's failed or missing frames again: a follow-up Batch job ("<job>-r1", "-r2", ...)
built from the original's recipe (same scene bytes, manifest, renderer, command lines, layer x
camera task sets), whose frames land in the original's output folder. The original's job record lists its follow-ups, so
``status`` and ``download`` keep showing one job.

Plan, then act: :func:`plan_retry` decides the frames from the job's status and the output files
in the store (no I/O); :func:`retry_job` gathers those, builds and submits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import PurePosixPath

from azrender.errors import UsageError

_FRAME_NUMBER = re.compile(r"(\d+)(?!.*\d)")


@dataclass(frozen=True)
class RetryPlan:
    job_id: str  # the original job
    retry_id: str  # the follow-up job that renders ``frames``
    frames: tuple[int, ...]
    failed: tuple[int, ...]  # frames of tasks that failed (and were not rendered again since)
    missing: tuple[int, ...]  # frames of finished tasks with no output file

    def describe(self) -> str:
        from azrender.jobs.frames import format_frames

        if not self.frames:
            return f"{self.job_id}: nothing to retry (no failed or missing frames)"
        why = [f"{len(s)} {name}" for name, s in (("failed", self.failed), ("missing", self.missing)) if s]
        return (f"{self.job_id}: retrying frame(s) {format_frames(self.frames)} as job {self.retry_id}"
                + (f" ({', '.join(why)})" if why else ""))


def output_frames(keys) -> set[int]:
    """Frame numbers of output files: the last number in each file name (``frame_0007.png`` -> 7)."""
    found = set()
    for key in keys:
        match = _FRAME_NUMBER.search(PurePosixPath(key).name)
        if match:
            found.add(int(match.group(1)))
    return found


def retry_id(job_id: str, previous: int) -> str:
    suffix = f"-r{previous + 1}"
    return job_id[:64 - len(suffix)] + suffix


def written_frames(record, output_keys) -> set[int]:
    """Frames whose files are all in the store: every file the scene names for them, when the job
    record lists them (each layer, camera, pass), else any file whose name ends in the frame."""
    from azrender import layout

    expected: dict[int, set[str]] = {}
    for entry in ((record.expected or {}).get("tasks") or {}).values():
        for frame, paths in entry["frames"].items():
            expected.setdefault(int(frame), set()).update(paths)
    if not any(expected.values()):
        return output_frames(output_keys)
    prefix = layout.job_key(record.job_id, "outputs") + "/"
    stored = {key[len(prefix):] for key in output_keys if key.startswith(prefix)}
    return {frame for frame, paths in expected.items() if paths <= stored}


def plan_retry(record, status, output_keys, *, frames: str | None = None, failed_only: bool = False) -> RetryPlan:
    """Which frames to render again. ``status``: the job's merged JobStatus (its follow-ups
    included); ``output_keys``: the store keys under its output folder. ``frames`` (a frame list)
    picks frames of the job whatever their state; else the frames of failed tasks and, unless
    ``failed_only``, frames whose task finished without writing all their files."""
    from azrender.jobs.build import latest_tasks
    from azrender.jobs.frames import format_frames, parse_frames

    if not record.recipe:
        raise UsageError(f"job {record.job_id} was submitted by an older azrender: it has no recipe to retry from",
                         hint="submit the scene again")
    job_frames = set(parse_frames(record.recipe["frames"]))
    latest = latest_tasks(status.tasks)
    busy = {f for (_, f), t in latest.items() if t.state != "completed"}
    failed = {f for (_, f), t in latest.items() if t.unsuccessful}
    missing = (job_frames - written_frames(record, output_keys) - busy - failed) if status.tasks else set()
    if frames is not None:
        chosen = set(parse_frames(frames))
        outside = sorted(chosen - job_frames)
        if outside:
            raise UsageError(f"frame(s) {format_frames(outside)} are not part of job {record.job_id} "
                             f"(frames {record.recipe['frames']})")
    else:
        chosen = failed | (set() if failed_only else missing)
    rendering = sorted(chosen & busy)
    if rendering:
        raise UsageError(f"frame(s) {format_frames(rendering)} of job {record.job_id} are still waiting or rendering",
                         hint=f"wait for them (azrender status {record.job_id})")
    return RetryPlan(record.job_id, retry_id(record.job_id, len(record.retries)), tuple(sorted(chosen)),
                     tuple(sorted(failed & chosen)), tuple(sorted(missing & chosen)))


# ---- acting ----------------------------------------------------------------------------------


def _store_url(record, settings) -> str:
    """The job's store; the profile's URL when it is the same store (it may carry the credential)."""
    from azrender.redact import redact

    configured = settings.storage_url
    if configured and redact(configured).split("?")[0].rstrip("/") == record.store_url.rstrip("/"):
        return configured
    return record.store_url


def retry_job(backend, job_id: str, *, frames: str | None = None, failed_only: bool = False,
              dry_run: bool = False, submission_for=None) -> RetryPlan:
    """Plan the retry of ``job_id`` (submitted from this machine) on ``backend`` (the one that ran
    it) and, unless ``dry_run`` or there is nothing to retry, send it; returns the plan.
    ``submission_for(record, plan, settings)`` gives what the task hooks see
    (:func:`azrender.pipeline.retry_submission`): the retry goes through the same hooks as a submission."""
    from azrender import jobrecord, layout
    from azrender.jobs.access import ACCESS_LIFETIME, node_access
    from azrender.jobs.batch_models import to_batch_models
    from azrender.jobs.build import build_job, check_id
    from azrender.jobs.model import WatchSpec
    from azrender.rendersettings.model import TaskSet
    from azrender.sync.stores import open_store

    check_id("job", job_id)
    record = jobrecord.load(job_id)
    if record is None:
        raise UsageError(f"job {job_id} was not submitted from this machine (no job record)",
                         hint="retry it where it was submitted")
    store = open_store(_store_url(record, backend.settings))
    keys = [obj.key for obj in store.list(layout.job_key(job_id, "outputs"))]
    plan = plan_retry(record, backend.status(job_id), keys, frames=frames, failed_only=failed_only)
    if dry_run or not plan.frames:
        return plan
    access = node_access(store, store, expires=datetime.now(timezone.utc) + ACCESS_LIFETIME,
                         identity_resource_id=backend.settings.identity_resource_id)
    recipe = {k: v for k, v in record.recipe.items() if k != "frames"}
    watch = recipe.get("watch")
    recipe.update(pre_scripts=tuple(recipe["pre_scripts"]), extra_args=tuple(recipe["extra_args"]),
                  watch=WatchSpec(**watch) if watch else None,
                  pre_commands=tuple(tuple(c) for c in recipe["pre_commands"]),
                  task_sets=tuple(TaskSet(*s) for s in recipe.get("task_sets") or ()) or None,
                  display_name=f"{recipe.get('display_name') or job_id} (retry)")
    from azrender.plugins import get_plugin_manager

    job = build_job(job_id=plan.retry_id, frames=list(plan.frames), access=access, outputs_of=job_id,
                    submission=submission_for(record, plan, backend.settings) if submission_for else None,
                    plugins=get_plugin_manager(), **recipe)
    requests = to_batch_models(job)
    from azrender.jobs.nodetool import upload_node_tool

    upload_node_tool(store)
    backend.send(requests)
    jobrecord.save(replace(record, retries=(*record.retries, plan.retry_id)))
    return plan
