"""The detached process that runs one job: ``python -m azrender.backends.local <job dir>``.

It plays the Batch service and the node agents for its job: schedules active tasks onto free
slots (spreading over nodes), brings nodes up (mounts, start task once per boot), runs the job
preparation task once per node and boot before the job's first task there, runs tasks with their
retries and wall-clock limits, uploads output files, and on termination kills what runs and runs
the release task on every node that prepared. It exits when there is nothing left to do; the
client starts it again when tasks are added or the job is terminated.

Only one runner per job runs at a time (``runner.lock``); slots are file locks, so runners of
different jobs share a pool's nodes without oversubscribing them.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from azure.batch.models import BatchJobCreateOptions, BatchPoolCreateOptions, BatchTaskCreateOptions

from azrender.errors import JobError
from azrender.redact import redact

from .execute import Cancel, Outcome, run_command
from .identity import process_identity, still_the_same
from .locks import locked, try_lock
from .node import NodeLayout
from .quarantine import Quarantine, failure_limit
from .state import (Failure, JobState, NodeRecord, PoolRecord, Root, Run, TaskRecord, load, load_model,
                    now, save)
from .transfer import TaskFileError, download_resource_files, upload_output_files

log = logging.getLogger("azrender.local.runner")

TICK = 0.1
RELEASE_LIMIT = 15 * 60  # Batch's default (and maximum) for a job release task
_AGENT_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "SYSTEMROOT",
              "AZRENDER_USER_UMASK")  # a local node writes frames into a store the user shares with their modes


def agent_env() -> dict[str, str]:
    """What a node gives every task besides Batch's variables: a plain login environment, never the
    submitting process's own variables (which may hold credentials)."""
    return {k: v for k, v in os.environ.items() if k in _AGENT_ENV or k.startswith("LC_")}


def _settings(*lists) -> dict[str, str]:
    return {s.name: s.value or "" for settings in lists for s in (settings or ())}


def _seconds(duration) -> float | None:
    return duration.total_seconds() if duration is not None else None


def prep_task_id(job_spec) -> str | None:
    prep = job_spec.job_preparation_task
    return (prep.id or "jobpreparation") if prep else None


def release_task_id(job_spec) -> str | None:
    release = job_spec.job_release_task
    return (release.id or "jobrelease") if release else None


@dataclass
class _Attempt:
    thread: threading.Thread
    cancel: Cancel
    node: NodeLayout
    boot: int | None = None  # set once the node is up for this task


class Runner:
    def __init__(self, root: Root, job_id: str, runner_fd: int):
        self.root, self.job_id, self.runner_fd = root, job_id, runner_fd
        job = self._job()
        self.job_id = job.id
        self.job_spec = load_model(root.job_private(job.id), BatchJobCreateOptions)
        self.pool = load(root.pool_file(job.pool_id), PoolRecord)
        self.pool_spec = load_model(root.pool_private(job.pool_id), BatchPoolCreateOptions)
        spot = self.pool_spec.target_low_priority_nodes or 0  # the last nodes of the pool are its Spot ones
        self.nodes = [NodeLayout(self.pool.id, f"node-{i}", root.node_root(self.pool.id, f"node-{i}"),
                                 dedicated=i < self.pool.node_count - spot)
                      for i in range(self.pool.node_count)]
        self.prep_id = prep_task_id(self.job_spec)
        self.quarantine = Quarantine(failure_limit(self.job_spec), job.quarantined)
        self.running: dict[str, _Attempt] = {}
        self.unusable: dict[str, tuple[int, Failure]] = {}  # node id -> (boot, why no task can run there)
        self.seen: dict[str, TaskRecord] = {}  # task file name -> record
        self.wake = threading.Event()  # a task ended: schedule at once rather than at the next tick
        self.lock = threading.Lock()

    # ---- records ----------------------------------------------------------------------------

    def _job(self) -> JobState:
        return load(self.root.job_file(self.job_id), JobState)

    def _update_job(self, change) -> JobState:
        with locked(self.root.job_lock(self.job_id)):
            job = change(self._job())
            save(self.root.job_file(self.job_id), job)
            return job

    def _tasks(self) -> list[TaskRecord]:
        """Every task. Other processes only add task files; this runner is the only one that
        changes them, so a file is read once and then kept up to date by ``_update_task``."""
        folder = self.root.tasks_dir(self.job_id)
        for path in folder.glob("*.json") if folder.is_dir() else ():
            if path.name not in self.seen:
                self.seen[path.name] = load(path, TaskRecord)
        return sorted(self.seen.values(), key=lambda t: t.creation_time)

    def _update_task(self, task_id: str, **changes) -> TaskRecord:
        path = self.root.task_file(self.job_id, task_id)
        task = replace(self.seen.get(path.name) or load(path, TaskRecord), **changes)
        save(path, task)
        self.seen[path.name] = task
        return task

    def _node(self, node: NodeLayout) -> NodeRecord:
        path = self.root.node_file(node.pool_id, node.node_id)
        return load(path, NodeRecord) if path.exists() else NodeRecord(node.node_id)

    # ---- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        self._recover_orphans()
        while True:
            job = self._job()
            if job.state == "completed":
                return
            if job.state == "terminating":
                self._terminate()
                return
            self._check_job_wall_clock(job)
            self._watch_reboots()
            pending = [t for t in self._tasks() if t.state == "active" and t.id.lower() not in self.running]
            for task in pending:
                if not self._start(task) and not self.quarantine.tried(task.id):
                    break  # no free slot (a retry avoiding a node may wait while others start)
            with self.lock:
                busy = bool(self.running)
            if not busy:
                if pending and all(n.node_id in self.unusable or n.node_id in self.quarantine for n in self.nodes):
                    if len(self.unusable) == len(self.nodes) and all(
                            f.code == "JobPreparationTaskFailed" for _, f in self.unusable.values()):
                        if self._hand_back():  # as on Batch, the tasks stay active; status tells why
                            return
                    else:
                        self._fail_unschedulable(pending)
                elif not pending and self._finished(job):
                    return
            self.wake.wait(TICK)
            self.wake.clear()

    def _finished(self, job: JobState) -> bool:
        """Nothing to run: terminate the job if it asks for it, else hand back the runner lock."""
        tasks = self._tasks()
        if job.all_tasks_complete_mode == "terminatejob" and tasks and all(t.state == "completed" for t in tasks):
            self._request_termination("AllTasksComplete")
            return False
        with locked(self.root.job_lock(self.job_id)):
            if self._job().state != "active" or any(t.state == "active" for t in self._tasks()):
                return False
            os.close(self.runner_fd)  # inside the job lock: a client adding tasks now starts a new runner
            return True

    def _hand_back(self) -> bool:
        """Exit with work left that no node can take (until a reboot or termination, which start
        a new runner): release the runner lock under the job lock."""
        with locked(self.root.job_lock(self.job_id)):
            if self._job().state != "active":
                return False
            os.close(self.runner_fd)
            return True

    def _request_termination(self, reason: str) -> None:
        def terminate(job: JobState) -> JobState:
            if job.state != "active":
                return job
            return replace(job, state="terminating", termination_reason=reason)

        self._update_job(terminate)

    def _check_job_wall_clock(self, job: JobState) -> None:
        limit = self.job_spec.constraints and _seconds(self.job_spec.constraints.max_wall_clock_time)
        if limit is not None:
            age = (datetime.now(timezone.utc) - datetime.fromisoformat(job.creation_time)).total_seconds()
            if age > limit:
                self._request_termination("MaxWallClockTimeExpiry")

    def _recover_orphans(self) -> None:
        """Tasks a dead runner left running: kill what is left of them and requeue them, as Batch
        does when a node is lost (a requeue does not count as a retry)."""
        for task in self._tasks():
            if task.state in ("preparing", "running"):
                if task.pgid and still_the_same(task.pgid, task.pgid_identity):  # never a reused pid's group
                    try:
                        os.killpg(task.pgid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                log.info("requeueing %s left %s by a previous runner", task.id, task.state)
                self._update_task(task.id, state="active", node_id=None, pgid=None,
                                  requeue_count=task.requeue_count + 1)

    def _watch_reboots(self) -> None:
        """A rebooted node kills what runs there, and gets another chance if it was unusable."""
        with self.lock:
            attempts = list(self.running.values())
        for attempt in attempts:
            record = self._node(attempt.node)
            if attempt.boot is not None and record.boot != attempt.boot:
                attempt.cancel.set("preempt" if record.fresh else "reboot")
        for node in self.nodes:
            if node.node_id in self.unusable and self._node(node).boot != self.unusable[node.node_id][0]:
                del self.unusable[node.node_id]

    def _fail_unschedulable(self, pending: list[TaskRecord]) -> None:
        _, failure = next(iter(self.unusable.values()), (None, Failure(
            "NoUsableNode", "every node of the pool is quarantined for this job: " + "; ".join(
                f"{node}: {why}" for node, why in sorted(self.quarantine.reasons.items())))))
        for task in pending:
            log.info("task %s cannot run on any node: %s", task.id, failure.message)
            self._update_task(task.id, state="completed", failure=failure, end_time=now())

    # ---- scheduling -------------------------------------------------------------------------

    def _start(self, task: TaskRecord) -> bool:
        """Put ``task`` on the least busy node with as many free slots as it requires; False when
        no node has them now."""
        with self.lock:
            if 0 < (self.job_spec.max_parallel_tasks or -1) <= len(self.running):
                return False
            load_per_node = {n.node_id: 0 for n in self.nodes}
            for attempt in self.running.values():
                load_per_node[attempt.node.node_id] += 1
        needed = task.spec.get("requiredSlots") or 1
        # A retry waits for a usable node the task has not failed on, while there is one.
        tried = self.quarantine.tried(task.id)
        avoid = tried if self._usable() - tried else set()
        for node in sorted(self.nodes, key=lambda n: load_per_node[n.node_id]):
            if node.node_id in self.unusable or node.node_id in self.quarantine or node.node_id in avoid:
                continue
            slots = []
            for slot in range(self.pool.task_slots):
                fd = try_lock(self.root.agent_dir(node.pool_id, node.node_id) / f"slot-{slot}.lock")
                if fd is not None:
                    slots.append(fd)
                if len(slots) == needed:
                    cancel = Cancel()
                    thread = threading.Thread(target=self._run_task, args=(task.id, node, slots, cancel), daemon=True)
                    with self.lock:
                        self.running[task.id.lower()] = _Attempt(thread, cancel, node)
                    thread.start()
                    return True
            for fd in slots:
                os.close(fd)
        return False

    def _run_task(self, task_id: str, node: NodeLayout, slots: list[int], cancel: Cancel) -> None:
        try:
            self._update_task(task_id, state="preparing", node_id=node.node_id)
            boot = self._bring_up(node)
            if boot is not None:
                with self.lock:
                    self.running[task_id.lower()].boot = boot
            if boot is None or not self._prepare(node, boot, cancel) or cancel.is_set():
                self._update_task(task_id, state="active", node_id=None)
                return
            self._execute(task_id, node, boot, cancel)
        except Exception:  # a bug or a broken record must not leave the task stuck "running"
            log.exception("task %s failed in the runner", task_id)
            self._update_task(task_id, state="completed", end_time=now(), pgid=None,
                              failure=Failure("LocalRunnerError", "the local runner failed; see runner.log",
                                              category="servererror"))
        finally:
            for fd in slots:
                os.close(fd)
            with self.lock:
                self.running.pop(task_id.lower(), None)
            self.wake.set()

    # ---- node bring-up and job preparation -------------------------------------------------

    def _bring_up(self, node: NodeLayout) -> int | None:
        """The node's current boot, once its mounts exist and its start task ran for that boot;
        None when the start task failed and the pool waits for its success."""
        start = self.pool_spec.start_task
        with locked(self.root.agent_dir(node.pool_id, node.node_id) / "node.lock"):
            record = self._node(node)
            if record.fresh:  # a preempted node comes back as a new VM: nothing of the old disk
                import shutil

                shutil.rmtree(node.root, ignore_errors=True)
                record = replace(record, fresh=False, start_task=None)
                save(self.root.node_file(node.pool_id, node.node_id), record)
            run = record.start_task
            if run is None or run.boot != record.boot:
                node.create()
                self._mount(node)
                if start is None:
                    run = Run(boot=record.boot, state="completed", exit_code=0, end_time=now())
                else:
                    log.info("start task on %s (boot %d)", node.node_id, record.boot)
                    run = self._run_node_task(
                        record.boot, start.command_line, start.resource_files,
                        {**node.start_task_env(), **_settings(start.environment_settings)},
                        node.startup, start.max_task_retry_count or 0, None, Cancel())
                save(self.root.node_file(node.pool_id, node.node_id), replace(record, start_task=run))
        if run.succeeded or (start is not None and start.wait_for_success is False):
            return record.boot
        self.unusable[node.node_id] = (record.boot, Failure(
            "StartTaskFailed", f"the start task failed on {node.node_id}: "
            f"{run.failure.message if run.failure else run.exit_code}"))
        return None

    def _mount(self, node: NodeLayout) -> None:
        """Each mount is a symlink to the local folder that stands for its container or share."""
        for mount in self.pool_spec.mount_configuration or ():
            source, relative = mount_source(mount)
            target = node.mounts / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink():
                target.unlink()
            target.symlink_to(Path(self.pool.store_roots[source]), target_is_directory=True)

    def _prepare(self, node: NodeLayout, boot: int, cancel: Cancel) -> bool:
        """Run the job preparation task on ``node`` unless it already ran for this boot (a job
        termination or node reboot meanwhile kills it like any task)."""
        prep = self.job_spec.job_preparation_task
        if prep is None:
            return True
        with locked(self.root.agent_dir(node.pool_id, node.node_id) / f"prep-{self.job_id.lower()}.lock"):
            last = self._job().preparation.get(node.node_id)
            rerun_after_reboot = prep.rerun_on_node_reboot_after_success is not False
            done = last is not None and last.state == "completed" and (
                last.boot == boot or (last.succeeded and not rerun_after_reboot))
            if not done:
                log.info("job preparation task on %s (boot %d)", node.node_id, boot)
                constraints = prep.constraints
                run = self._run_node_task(
                    boot, prep.command_line, prep.resource_files,
                    {**node.task_env(self.job_id, self.prep_id, prep_id=self.prep_id, is_prep=True),
                     **_settings(self.job_spec.common_environment_settings, prep.environment_settings)},
                    node.task_dir(self.job_id, self.prep_id),
                    (constraints.max_task_retry_count or 0) if constraints else 0,
                    _seconds(constraints.max_wall_clock_time) if constraints else None, cancel)
                self._update_job(lambda job: replace(job, preparation={**job.preparation, node.node_id: run}))
                last = run
        if last.succeeded or prep.wait_for_success is False:
            return True
        self.unusable[node.node_id] = (boot, Failure(
            "JobPreparationTaskFailed", f"the job preparation task failed on {node.node_id}: "
            f"{last.failure.message if last.failure else last.exit_code}"))
        return False

    def _run_node_task(self, boot, command_line, resource_files, env, task_dir: Path, max_retries: int,
                       wall: float | None, cancel: Cancel) -> Run:
        run = Run(boot=boot)
        try:
            download_resource_files(resource_files, task_dir / "wd")
        except TaskFileError as exc:
            return replace(run, state="completed", end_time=now(), failure=exc.failure)
        outcome, retries = self._attempts(command_line, task_dir, {**agent_env(), **env}, max_retries, wall,
                                          cancel)
        return replace(run, state="completed", end_time=now(), exit_code=outcome.exit_code,
                       retry_count=retries, failure=outcome.failure)

    def _attempts(self, command_line, task_dir: Path, env, max_retries: int, wall: float | None, cancel: Cancel,
                  *, retries: int = 0, on_start=None, on_retry=None, on_failure=None) -> tuple[Outcome, int]:
        """Run until success, a non-retryable end, or the retries are spent (-1: no limit). The wall
        clock counts from the first attempt, across retries. ``on_failure()`` after each failed
        attempt may return True: retry no more here."""
        deadline = time.monotonic() + wall if wall is not None else None
        while True:
            outcome = run_command(command_line, task_dir=task_dir, working_dir=task_dir / "wd", env=env,
                                  deadline=deadline, cancel=cancel, on_start=on_start)
            if outcome.failure is not None and not cancel.is_set() and on_failure and on_failure():
                return outcome, retries
            if not outcome.retryable or cancel.is_set() or (max_retries != -1 and retries >= max_retries):
                return outcome, retries
            retries += 1
            if on_retry:
                on_retry(retries)

    # ---- a task ------------------------------------------------------------------------------

    def _execute(self, task_id: str, node: NodeLayout, boot: int, cancel: Cancel) -> None:
        spec = load_model(self.root.task_private(self.job_id, task_id), BatchTaskCreateOptions)
        record = self._update_task(task_id, state="running", start_time=now())
        task_dir = node.task_dir(self.job_id, task_id)
        env = {**agent_env(), **node.task_env(self.job_id, task_id, prep_id=self.prep_id),
               **_settings(self.job_spec.common_environment_settings, spec.environment_settings)}
        constraints = spec.constraints
        job_constraints = self.job_spec.constraints
        max_retries = next((c.max_task_retry_count for c in (constraints, job_constraints)
                            if c is not None and c.max_task_retry_count is not None), 0)
        wall = _seconds(constraints.max_wall_clock_time) if constraints else None
        command_line = spec.command_line
        if self._node(node).fault == "fail":  # a broken node (injected): every task fails here
            command_line = shlex.join([sys.executable, "-c", f"import sys; sys.exit('{node.node_id}: injected node failure')"])
        moved: list[bool] = []  # after each failed attempt: retry on another node?
        try:
            download_resource_files(spec.resource_files, task_dir / "wd")
            outcome, retries = self._attempts(
                command_line, task_dir, env, max_retries, wall, cancel, retries=record.retry_count,
                on_start=lambda pgid: self._update_task(task_id, pgid=pgid, pgid_identity=process_identity(pgid)),
                on_retry=lambda n: self._update_task(task_id, retry_count=n, pgid=None),
                on_failure=lambda: moved.append(self._task_failed(node, task_id)) or moved[-1])
        except TaskFileError as exc:
            outcome, retries = Outcome(None, exc.failure), record.retry_count
        if outcome.retryable and moved and moved[-1] and (max_retries == -1 or retries < max_retries):
            log.info("task %s requeued to retry on another node than %s", task_id, node.node_id)
            self._update_task(task_id, state="active", node_id=None, pgid=None, retry_count=retries + 1)
            return
        if outcome.cancelled in ("reboot", "preempt"):  # requeued: not a failed try
            log.info("task %s requeued: %s %s", task_id, node.node_id,
                     "was preempted" if outcome.cancelled == "preempt" else "rebooted")
            self._update_task(task_id, state="active", node_id=None, pgid=None, retry_count=retries,
                              requeue_count=record.requeue_count + 1)
            return
        failure = outcome.failure
        try:
            upload_output_files(spec.output_files, working_dir=task_dir / "wd", env=env, succeeded=failure is None)
        except TaskFileError as exc:
            (task_dir / "fileuploaderr.txt").write_text(str(exc) + "\n")
            failure = failure or exc.failure  # the files stay on the node
        self._update_task(task_id, state="completed", end_time=now(), exit_code=outcome.exit_code,
                          retry_count=retries, failure=failure, pgid=None)
        log.info("task %s completed on %s: exit %s%s", task_id, node.node_id, outcome.exit_code,
                 f" ({failure.code})" if failure else "")
        if self._job_action(spec, outcome.exit_code, failure) == "terminate":
            self._request_termination("TaskFailed")

    def _usable(self) -> set[str]:
        return {n.node_id for n in self.nodes if n.node_id not in self.unusable and n.node_id not in self.quarantine}

    def _elsewhere(self, node: NodeLayout, task_id: str) -> bool:
        """Whether a job with a bad-node limit should retry ``task_id`` on another node."""
        return self.quarantine.limit is not None and bool(self._usable() - self.quarantine.tried(task_id) - {node.node_id})

    def _task_failed(self, node: NodeLayout, task_id: str) -> bool:
        """Count a failed attempt; True: retry on another node rather than here."""
        self._quarantined(node, self.quarantine.task_failed(node.node_id, task_id, self._usable()))
        return node.node_id in self.quarantine or self._elsewhere(node, task_id)

    def _quarantined(self, node: NodeLayout, reason: str | None) -> bool:
        """Record a node newly quarantined (``reason``); whether ``node`` is quarantined."""
        if reason is not None:
            log.warning("node %s quarantined for job %s: %s", node.node_id, self.job_id, reason)
            self._update_job(lambda job: replace(job, quarantined={**job.quarantined, node.node_id: reason}))
        return node.node_id in self.quarantine

    def _job_action(self, spec, exit_code: int | None, failure: Failure | None) -> str:
        """Batch's exit conditions: they act on the job only when it says performExitOptionsJobAction."""
        if (self.job_spec.task_failure_mode or "noaction").lower() != "performexitoptionsjobaction":
            return "none"
        conditions, options = spec.exit_conditions, None
        if conditions is not None:
            if failure is not None and failure.code == "BlobDownloadMiscError":
                options = conditions.pre_processing_error
            elif failure is not None and failure.code == "FileUploadMiscError":
                options = conditions.file_upload_error
            elif exit_code is not None:
                options = next((c.exit_options for c in conditions.exit_codes or () if c.code == exit_code), None) or \
                    next((r.exit_options for r in conditions.exit_code_ranges or () if r.start <= exit_code <= r.end), None)
            options = options or conditions.default
        if options is not None and options.job_action:
            return options.job_action.lower()
        return "none" if failure is None else "terminate"

    # ---- termination -------------------------------------------------------------------------

    def _terminate(self) -> None:
        with self.lock:
            attempts = list(self.running.values())
        for attempt in attempts:
            attempt.cancel.set("terminate")
        for attempt in attempts:
            attempt.thread.join()
        release = self.job_spec.job_release_task
        if release is not None:
            prepared = [n for n in self.nodes if n.node_id in self._job().preparation]
            threads = [threading.Thread(target=self._release, args=(node, release)) for node in prepared]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        self._update_job(lambda job: replace(job, state="completed", end_time=now()))
        remove_private(self.root, self.job_id)
        log.info("job %s completed (%s)", self.job_id, self._job().termination_reason)

    def _release(self, node: NodeLayout, release) -> None:
        release_id = release_task_id(self.job_spec)
        log.info("job release task on %s", node.node_id)
        run = self._run_node_task(
            self._node(node).boot, release.command_line, release.resource_files,
            {**node.task_env(self.job_id, release_id, prep_id=self.prep_id),
             **_settings(self.job_spec.common_environment_settings, release.environment_settings)},
            node.task_dir(self.job_id, release_id), 0,
            min(_seconds(release.max_wall_clock_time) or RELEASE_LIMIT, RELEASE_LIMIT), Cancel())
        self._update_job(lambda job: replace(job, release={**job.release, node.node_id: run}))


def mount_source(mount) -> tuple[str, str]:
    """(store_roots key, relativeMountPath) of a MountConfiguration the local backend supports."""
    if mount.azure_blob_file_system_configuration is not None:
        blob = mount.azure_blob_file_system_configuration
        source, relative = f"{blob.account_name}/{blob.container_name}", blob.relative_mount_path
    elif mount.azure_file_share_configuration is not None:
        share = mount.azure_file_share_configuration
        source, relative = (share.azure_file_url or "").rstrip("/"), share.relative_mount_path
    elif (config := mount.cifs_mount_configuration or mount.nfs_mount_configuration) is not None:
        source, relative = config.source, config.relative_mount_path  # //host/share, host:/export
    else:
        raise JobError("the local backend mounts azureBlobFileSystemConfiguration, azureFileShareConfiguration, "
                       "cifsMountConfiguration and nfsMountConfiguration only")
    parts = Path(relative or "").parts
    if not parts or Path(relative).is_absolute() or ".." in parts:
        raise JobError(f"relativeMountPath {relative!r} must be a path inside AZ_BATCH_NODE_MOUNTS_DIR")
    return source, relative


def remove_private(root: Root, job_id: str) -> None:
    """The job's unscrubbed spec is needed only while it can still run."""
    import shutil

    shutil.rmtree(root.job_private(job_id).parent, ignore_errors=True)


class _RedactingFormatter(logging.Formatter):
    """Masks secrets in the whole record, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def main(argv: list[str]) -> int:
    from azrender.dirs import private_files

    private_files()  # the nodes, their tasks and what they write are this user's alone
    job_dir = Path(argv[0])
    root = Root(job_dir.parents[1])
    job_id = job_dir.name
    fd = try_lock(root.runner_lock(job_id))
    if fd is None:
        return 0  # another runner has this job
    handler = logging.FileHandler(root.runner_log(job_id))
    handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    threading.excepthook = lambda hook: log.error("runner thread failed", exc_info=(
        hook.exc_type, hook.exc_value, hook.exc_traceback))
    try:
        Runner(root, job_id, fd).run()
    except Exception as exc:
        log.exception("runner failed")
        # The client reports this instead of starting runner after runner.
        root.runner_error(job_id).write_text(redact(str(exc) or type(exc).__name__) + "\n")
        return 1
    return 0
