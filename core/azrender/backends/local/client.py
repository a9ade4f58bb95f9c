"""LocalBatchClient: the ``azure.batch.BatchClient`` calls azrender makes, served on this machine.

Every call takes and returns the SDK's own models, so the job spec that goes to Azure Batch is the
one that runs here. Calls return at once; a detached runner process per job does the work
(:mod:`.runner`), and any process can ask for status, wait, terminate or delete.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Mapping

from azure.batch.models import (BatchCreateTaskCollectionResult, BatchError, BatchJob,
                                BatchJobCreateOptions, BatchJobExecutionInfo, BatchJobUpdateOptions,
                                BatchNodeInfo, BatchPool, BatchPoolCreateOptions,
                                BatchTask, BatchTaskCreateOptions, BatchTaskCreateResult,
                                BatchTaskExecutionInfo, BatchTaskFailureInfo, BatchTaskGroup,
                                CreateTasksError)
from azure.core.exceptions import ResourceNotFoundError

from azrender.backends import JobStatus, TaskState, attempt_seconds, metadata_value, output_tail, preparation_status
from azrender.jobs.model import EXPECTED_OUTPUTS_KEY
from azrender.errors import JobError, UsageError
from azrender.layout import check_id
from azrender.progress import ProgressCallback

from .locks import is_free, locked
from .node import NodeLayout
from .runner import mount_source, prep_task_id, release_task_id, remove_private
from .state import (JobState, NodeRecord, PoolRecord, Root, TaskRecord, load, load_model,
                    save, scrub, write_json)

MAX_COLLECTION_TASKS = 100  # Batch's limits for one add-task-collection request
MAX_COLLECTION_BYTES = 1_000_000
IMPLICIT_POOL = "local"  # a job on pool "local" needs no create_pool: one node per core, 1 slot each
STDERR_TAIL_LINES = 20
POLL = 0.2


class NotFound(JobError, ResourceNotFoundError):
    """A pool, node, job, task or file that does not exist: a JobError for azrender, and the
    SDK's ResourceNotFoundError for code written against ``azure.batch.BatchClient``."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status_code = 404


class _Done:
    """What the SDK's ``begin_*`` calls return (an LROPoller), for work already finished."""

    def result(self, timeout: float | None = None) -> None:
        return None

    def wait(self, timeout: float | None = None) -> None:
        return None

    def done(self) -> bool:
        return True


def default_root() -> Path:
    """Where the local backend keeps its nodes and jobs unless told otherwise."""
    from azrender.dirs import state_dir

    return state_dir() / "local-batch"


def _python() -> str:
    """An interpreter for the runner: inside Maya or 3ds Max ``sys.executable`` is the host itself."""
    if "python" in Path(sys.executable).name.lower():
        return sys.executable
    return shutil.which("python3") or shutil.which("python") or sys.executable


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class LocalBatchClient:
    """A single-machine Azure Batch rooted at ``root``.

    ``node_count`` sets how many nodes a pool gets here (default: the pool's target node count, at
    most one per core; the implicit pool "local" gets one per core). ``store_roots`` maps each
    mount source of a pool's mount configuration to the local folder standing for it: blobfuse
    mounts by ``"<account>/<container>"``, Azure Files mounts by their ``azure_file_url``.
    """

    def __init__(self, root: Path, *, node_count: int | None = None, store_roots: Mapping[str, Path] | None = None):
        if node_count is not None and node_count < 1:
            raise JobError(f"node_count must be at least 1, not {node_count}")
        self.root = Root(Path(root).resolve())
        self.node_count = node_count
        self.store_roots = {key: Path(path) for key, path in (store_roots or {}).items()}

    # ---- pools and nodes ---------------------------------------------------------------------

    def create_pool(self, pool: BatchPoolCreateOptions, **_service_options) -> None:
        existing = self.root.pool_file(check_id("pool", pool.id))
        if existing.exists() and not load(existing, PoolRecord).implicit:  # "local" may be made explicit
            raise JobError(f"pool {pool.id!r} already exists (PoolExists)")
        cores = os.cpu_count() or 1
        target = (pool.target_dedicated_nodes or 0) + (pool.target_low_priority_nodes or 0)
        roots = {}
        for mount in pool.mount_configuration or ():
            source, _ = mount_source(mount)
            folder = self.store_roots.get(source)
            if folder is None or not folder.is_dir():
                raise JobError(f"pool {pool.id!r} mounts {source!r}, but no local folder stands for it",
                               hint=f"pass store_roots={{{source!r}: <existing folder>}} to LocalBatchClient")
            roots[source] = str(folder.resolve())
        self._save_pool(pool, PoolRecord(id=pool.id, spec=scrub(pool.as_dict()),
                                         node_count=self.node_count or min(target or cores, cores),
                                         task_slots=pool.task_slots_per_node or 1, store_roots=roots))

    def pool_exists(self, pool_id: str, **_service_options) -> bool:
        return pool_id.lower() == IMPLICIT_POOL or self.root.pool_file(check_id("pool", pool_id)).exists()

    def get_pool(self, pool_id: str, **_service_options) -> BatchPool:
        record = self._pool(pool_id)
        pool = BatchPool(record.spec)
        pool.state = "active"
        pool.allocation_state = "steady"
        pool.current_dedicated_nodes = record.node_count
        pool.task_slots_per_node = record.task_slots
        return pool

    def begin_delete_pool(self, pool_id: str, **_service_options) -> _Done:
        """Remove the pool and its nodes' folders (jobs still on it can no longer run)."""
        self._pool(pool_id)
        shutil.rmtree(self.root.pool_dir(pool_id), ignore_errors=True)
        return _Done()

    def _save_pool(self, pool: BatchPoolCreateOptions, record: PoolRecord) -> None:
        write_json(self.root.pool_private(pool.id), pool.as_dict(), private=True)
        save(self.root.pool_file(pool.id), record)

    def _pool(self, pool_id: str) -> PoolRecord:
        if check_id("pool", pool_id).lower() == IMPLICIT_POOL:
            self._implicit_pool()
        try:
            return load(self.root.pool_file(pool_id), PoolRecord)
        except FileNotFoundError:
            raise NotFound(f"pool {pool_id!r} does not exist (PoolNotFound)",
                           hint=f"create it first, or use the implicit local pool {IMPLICIT_POOL!r}") from None

    def _implicit_pool(self) -> None:
        """Pool "local" exists as soon as a job needs it; an explicit ``node_count`` resizes it."""
        path = self.root.pool_file(IMPLICIT_POOL)
        if path.exists() and (self.node_count is None or load(path, PoolRecord).node_count == self.node_count):
            return
        pool = BatchPoolCreateOptions(id=IMPLICIT_POOL, vm_size="local", task_slots_per_node=1)
        self._save_pool(pool, PoolRecord(id=IMPLICIT_POOL, spec=pool.as_dict(),
                                         node_count=self.node_count or os.cpu_count() or 1, implicit=True))

    def reboot_node(self, pool_id: str, node_id: str) -> None:
        """Simulate a node reboot: tasks running there are killed and requeued; the start task and,
        before the job's next task there, the job preparation task run again. Files stay."""
        self._change_node(pool_id, node_id, lambda node: replace(node, boot=node.boot + 1))

    def preempt_node(self, pool_id: str, node_id: str) -> None:
        """Simulate a Spot node's preemption: tasks running there are killed and requeued without
        using up a retry; the node comes back as a new VM (empty disk, start task and job
        preparation again)."""
        self._change_node(pool_id, node_id, lambda node: replace(node, boot=node.boot + 1, fresh=True))

    def inject_node_fault(self, pool_id: str, node_id: str, fault: str | None = "fail") -> None:
        """For tests: ``"fail"`` makes every task started on the node fail (a broken node); None heals it."""
        self._change_node(pool_id, node_id, lambda node: replace(node, fault=fault))

    def _change_node(self, pool_id: str, node_id: str, change) -> None:
        pool = self._pool(pool_id)
        if node_id not in {f"node-{i}" for i in range(pool.node_count)}:
            raise NotFound(f"pool {pool_id!r} has no node {node_id!r} (NodeNotFound)")
        path = self.root.node_file(pool.id, node_id)
        with locked(self.root.agent_dir(pool.id, node_id) / "node.lock"):
            save(path, change(load(path, NodeRecord) if path.exists() else NodeRecord(node_id)))

    def node(self, pool_id: str, node_id: str) -> NodeLayout:
        """The folders of one node (e.g. to look at its shared directory)."""
        pool = self._pool(pool_id)
        return NodeLayout(pool.id, node_id, self.root.node_root(pool.id, node_id))

    # ---- jobs --------------------------------------------------------------------------------

    def create_job(self, job: BatchJobCreateOptions, **_service_options) -> None:
        check_id("job", job.id)
        if job.pool_info is None or not job.pool_info.pool_id:
            raise JobError(f"job {job.id!r}: the local backend needs pool_info.pool_id "
                           "(autoPoolSpecification is not supported)")
        pool = self._pool(job.pool_info.pool_id)
        if job.job_release_task is not None and job.job_preparation_task is None:
            raise JobError(f"job {job.id!r}: a job release task needs a job preparation task (Batch rule)")
        with locked(self.root.job_lock(job.id)):
            if self.root.job_file(job.id).exists():
                raise JobError(f"job {job.id!r} already exists (JobExists; ids ignore case)")
            write_json(self.root.job_private(job.id), job.as_dict(), private=True)
            save(self.root.job_file(job.id), JobState(
                id=job.id, spec=scrub(job.as_dict()), pool_id=pool.id,
                all_tasks_complete_mode=(job.all_tasks_complete_mode or "noaction").lower()))

    def update_job(self, job_id: str, job: BatchJobUpdateOptions, **_service_options) -> None:
        """Only ``all_tasks_complete_mode`` matters locally (set it once every task is added)."""
        if job.all_tasks_complete_mode is None:
            return
        with locked(self.root.job_lock(job_id)):
            record = self._job(job_id)
            save(self.root.job_file(job_id),
                 replace(record, all_tasks_complete_mode=job.all_tasks_complete_mode.lower()))
            self._ensure_runner(record)

    def _job(self, job_id: str) -> JobState:
        check_id("job", job_id)
        try:
            return load(self.root.job_file(job_id), JobState)
        except FileNotFoundError:
            raise NotFound(f"job {job_id!r} does not exist (JobNotFound)") from None

    def get_job(self, job_id: str, **_service_options) -> BatchJob:
        record = self._job(job_id)
        job = BatchJob(record.spec)
        job.state = record.state
        job.creation_time = _time(record.creation_time)
        job.all_tasks_complete_mode = record.all_tasks_complete_mode
        job.execution_info = BatchJobExecutionInfo(
            start_time=_time(record.creation_time), end_time=_time(record.end_time), pool_id=record.pool_id,
            termination_reason=record.termination_reason)
        return job

    def begin_terminate_job(self, job_id: str, options=None,
                            **_service_options) -> _Done:
        """The SDK's name (``options``: its BatchJobTerminateOptions): returns once termination is
        requested, like the service does."""
        self.terminate_job(job_id, reason=(options and options.termination_reason) or "UserTerminate")
        return _Done()

    def terminate_job(self, job_id: str, *, reason: str = "UserTerminate") -> None:
        """Like Batch: running tasks are killed, the release task runs where the preparation task
        ran, active tasks stay active, then the job is completed. Returns at once (see wait)."""
        with locked(self.root.job_lock(job_id)):
            record = self._job(job_id)
            if record.state == "active":
                record = replace(record, state="terminating", termination_reason=reason)
                save(self.root.job_file(job_id), record)
            if record.state == "terminating":
                self._ensure_runner(record)

    def begin_delete_job(self, job_id: str, **_service_options) -> _Done:
        self.delete_job(job_id)
        return _Done()

    def delete_job(self, job_id: str, **_service_options) -> None:
        """Terminate (if needed) and wait for the job to complete, then remove it and its task
        folders from every node."""
        record = self._job(job_id)
        if record.state != "completed":
            self.terminate_job(job_id)
            while self._job(job_id).state != "completed":
                self._revive(job_id)
                time.sleep(POLL)
        for workitems in self.root.pool_dir(record.pool_id).glob(f"nodes/*/workitems/{record.id}"):
            shutil.rmtree(workitems, ignore_errors=True)
        remove_private(self.root, record.id)
        shutil.rmtree(self.root.job_dir(record.id), ignore_errors=True)

    # ---- tasks -------------------------------------------------------------------------------

    def create_tasks(self, job_id: str, task_collection: list[BatchTaskCreateOptions],
                     **_service_options) -> BatchCreateTaskCollectionResult:
        """Add any number of tasks. Like the SDK, valid tasks are added and ``CreateTasksError``
        lists the ones refused."""
        result = self._add_tasks(job_id, task_collection)
        refused = [r for r in result.result_values if r.status != "success"]
        if refused:
            raise CreateTasksError(pending_tasks=[], failure_tasks=refused)
        return result

    def create_task_collection(self, job_id: str, task_collection: BatchTaskGroup,
                               **_service_options) -> BatchCreateTaskCollectionResult:
        """One request of the REST API: Batch's limits apply (100 tasks, 1 MB of JSON), and each
        task's result says whether it was added."""
        tasks = task_collection.task_values
        if len(tasks) > MAX_COLLECTION_TASKS:
            raise JobError(f"a task collection holds at most {MAX_COLLECTION_TASKS} tasks, not {len(tasks)} "
                           "(Batch's limit)")
        size = len(json.dumps(task_collection.as_dict()).encode())
        if size > MAX_COLLECTION_BYTES:
            raise JobError(f"a task collection of {size:,} bytes is over Batch's 1 MB limit (RequestBodyTooLarge)")
        return self._add_tasks(job_id, tasks)

    def _add_tasks(self, job_id: str, tasks) -> BatchCreateTaskCollectionResult:
        private = load_model(self.root.job_private(job_id), BatchJobCreateOptions) \
            if self.root.job_private(job_id).exists() else None
        results = []
        with locked(self.root.job_lock(job_id)):
            record = self._job(job_id)
            if record.state != "active" or private is None:
                raise JobError(f"job {job_id!r} is {record.state}: no tasks can be added (JobCompleted)")
            reserved = {i.lower(): code for i, code in ((prep_task_id(private), "TaskIdSameAsJobPreparationTask"),
                                                        (release_task_id(private), "TaskIdSameAsJobReleaseTask")) if i}
            taken = {path.stem for path in self.root.tasks_dir(job_id).glob("*.json")}
            slots = self._pool(record.pool_id).task_slots
            for task in tasks:
                error = self._refusal(task, taken, reserved, slots)
                if error:
                    results.append(BatchTaskCreateResult(status="clienterror", task_id=task.id,
                                                         error=BatchError(code=error[0], message=error[1])))
                    continue
                taken.add(task.id.lower())
                write_json(self.root.task_private(job_id, task.id), task.as_dict(), private=True)
                save(self.root.task_file(job_id, task.id), TaskRecord(id=task.id, spec=scrub(task.as_dict())))
                results.append(BatchTaskCreateResult(status="success", task_id=task.id))
            if any(r.status == "success" for r in results):
                self._ensure_runner(record)
        return BatchCreateTaskCollectionResult(result_values=results)

    def create_task(self, job_id: str, task: BatchTaskCreateOptions, **_service_options) -> None:
        try:
            self.create_tasks(job_id, [task])
        except CreateTasksError as exc:
            error = exc.failure_tasks[0].error
            raise JobError(f"task {task.id!r} refused: {error.message} ({error.code})") from None

    @staticmethod
    def _refusal(task: BatchTaskCreateOptions, taken: set[str], reserved: dict[str, str],
                 slots: int) -> tuple[str, str] | None:
        try:
            check_id("task", task.id)
        except UsageError as exc:
            return "InvalidPropertyValue", exc.message
        if not task.command_line:
            return "MissingRequiredProperty", f"task {task.id!r} has no command line"
        unsupported = [name for name in ("container_settings", "multi_instance_settings", "depends_on")
                       if getattr(task, name) is not None]
        if unsupported:
            return "InvalidPropertyValue", f"task {task.id!r}: the local backend cannot run {', '.join(unsupported)}"
        if (task.required_slots or 1) > slots:
            return "InvalidPropertyValue", (f"task {task.id!r} requires {task.required_slots} slots; the pool's "
                                            f"nodes have {slots} (it could never run)")
        if task.id.lower() in reserved:
            return reserved[task.id.lower()], f"task id {task.id!r} is the job preparation/release task's"
        if task.id.lower() in taken:
            return "TaskExists", f"task {task.id!r} already exists (ids are case-insensitive)"
        return None

    def _tasks(self, job_id: str) -> list[TaskRecord]:
        self._job(job_id)
        records = [load(path, TaskRecord) for path in self.root.tasks_dir(job_id).glob("*.json")]
        return sorted(records, key=lambda t: t.creation_time)

    def _task_model(self, job: JobState, record: TaskRecord) -> BatchTask:
        task = BatchTask(record.spec)
        task.state = record.state
        task.creation_time = _time(record.creation_time)
        failure = record.failure
        task.execution_info = BatchTaskExecutionInfo(
            start_time=_time(record.start_time), end_time=_time(record.end_time), exit_code=record.exit_code,
            retry_count=record.retry_count, requeue_count=record.requeue_count, result=record.result,
            failure_info=BatchTaskFailureInfo(category=failure.category, code=failure.code,
                                              message=failure.message) if failure else None)
        if record.node_id:
            task.node_info = BatchNodeInfo(pool_id=job.pool_id, node_id=record.node_id,
                                           task_root_directory=str(self._task_dir(job, record)))
        return task

    def _task_dir(self, job: JobState, record: TaskRecord) -> Path:
        return self.node(job.pool_id, record.node_id).task_dir(job.id, record.id)

    def list_tasks(self, job_id: str, **_service_options) -> list[BatchTask]:
        job = self._job(job_id)
        return [self._task_model(job, record) for record in self._tasks(job_id)]

    def get_task(self, job_id: str, task_id: str, **_service_options) -> BatchTask:
        job = self._job(job_id)
        try:
            return self._task_model(job, load(self.root.task_file(job_id, check_id("task", task_id)), TaskRecord))
        except FileNotFoundError:
            raise NotFound(f"job {job_id!r} has no task {task_id!r} (TaskNotFound)") from None

    def download_task_file(self, job_id: str, task_id: str, file_path: str, **_service_options):
        """A file of the task's directory on its node (e.g. "stderr.txt", "wd/out.png"), as bytes chunks."""
        job = self._job(job_id)
        task = self.get_task(job_id, task_id)
        if task.node_info is None:
            raise NotFound(f"task {task_id!r} has not run on a node yet (NodeNotFound)")
        task_dir = Path(task.node_info.task_root_directory)
        path = Path(os.path.normpath(task_dir / file_path))
        if task_dir not in path.parents or not path.is_file():
            raise NotFound(f"task {task_id!r} of job {job.id!r} has no file {file_path!r} (FileNotFound)")
        return iter([path.read_bytes()])

    def list_job_preparation_and_release_task_status(self, job_id: str, **_service_options):
        """Per node where the job ran: its preparation and release task runs, as Batch lists them."""
        from azure.batch.models import (BatchJobPreparationAndReleaseTaskStatus,
                                        BatchJobPreparationTaskExecutionInfo, BatchJobReleaseTaskExecutionInfo)

        job = self._job(job_id)
        spec = BatchJobCreateOptions(job.spec)
        prep_id, release_id = prep_task_id(spec), release_task_id(spec)

        def info(model, run, task_id):
            if run is None:
                return None
            failure = run.failure
            extra = {"retry_count": run.retry_count} if model is BatchJobPreparationTaskExecutionInfo else {}
            return model(start_time=_time(run.start_time), end_time=_time(run.end_time), state=run.state,
                         task_root_directory=f"workitems/{job.id}/job-1/{task_id}", exit_code=run.exit_code,
                         result=("success" if run.succeeded else "failure") if run.state == "completed" else None,
                         failure_info=BatchTaskFailureInfo(category=failure.category, code=failure.code,
                                                           message=failure.message) if failure else None, **extra)

        return [BatchJobPreparationAndReleaseTaskStatus(
            pool_id=job.pool_id, node_id=node_id,
            job_preparation_task_execution_info=info(BatchJobPreparationTaskExecutionInfo,
                                                     job.preparation.get(node_id), prep_id),
            job_release_task_execution_info=info(BatchJobReleaseTaskExecutionInfo, job.release.get(node_id), release_id))
            for node_id in sorted({*job.preparation, *job.release})]

    def download_node_file(self, pool_id: str, node_id: str, file_path: str, **_service_options):
        """A file under the node's root (e.g. ``workitems/<job>/job-1/<task>/stderr.txt``), as bytes chunks."""
        root = self.node(pool_id, node_id).root
        path = Path(os.path.normpath(root / file_path))
        if root not in path.parents or not path.is_file():
            raise NotFound(f"node {node_id!r} of pool {pool_id!r} has no file {file_path!r} (FileNotFound)")
        return iter([path.read_bytes()])

    # ---- status and waiting ------------------------------------------------------------------

    def status(self, job_id: str) -> JobStatus:
        job = self._job(job_id)
        states = []
        for record in self._tasks(job_id):
            tail = ""
            if record.result == "failure" and record.node_id:
                task_dir = self._task_dir(job, record)
                tail = output_tail(lambda name: (task_dir / name).read_bytes() if (task_dir / name).is_file() else None,
                                   STDERR_TAIL_LINES)
            states.append(TaskState(
                id=record.id, state=record.state, exit_code=record.exit_code, retries=record.retry_count,
                requeues=record.requeue_count,
                node=record.node_id, stderr_tail=tail,
                failure=f"{record.failure.code}: {record.failure.message}" if record.failure else "",
                seconds=attempt_seconds(record.start_time, record.end_time) if record.state != "active" else None))
        prep_failed, prepared = preparation_status(self, job_id, STDERR_TAIL_LINES)
        return JobStatus(job_id=job.id, backend="local", state=job.state, tasks=tuple(states),
                         preparation_failed=prep_failed, prepared_nodes=prepared,
                         quarantined=tuple(sorted(job.quarantined.items())),
                         expected_key=metadata_value(BatchJob(job.spec), EXPECTED_OUTPUTS_KEY))

    def resume(self, job_id: str) -> None:
        """Detect a dead runner (OOM, logout, reboot) of an unfinished job: start a new one, which
        requeues what the dead one left running; a runner that failed is a JobError."""
        self._revive(job_id)

    def wait(self, job_id: str, *, progress: ProgressCallback | None = None, timeout: float | None = None) -> JobStatus:
        """Until every task completed (and, for a job that terminates itself, its release tasks
        ran). ``progress("render", done, total, message)`` on each change. Ctrl-C terminates the
        job (running tasks killed, release tasks run), then KeyboardInterrupt propagates; the
        status then shows which tasks completed."""
        deadline = time.monotonic() + timeout if timeout is not None else None
        last, next_revive = None, time.monotonic() + 1.0  # a new runner may still be starting
        try:
            while True:
                status = self.status(job_id)
                total, done = len(status.tasks), status.count("completed")
                if progress and (done, total) != last:
                    progress("render", done, total, f"{status.count('running')} running, {len(status.failed)} failed")
                    last = (done, total)
                if self._settled(job_id, status):
                    return status
                if deadline is not None and time.monotonic() > deadline:
                    raise JobError(f"job {job_id!r} is still running after {timeout:g} s: "
                                   f"{done} of {total} task(s) completed")
                if time.monotonic() > next_revive:
                    self._revive(job_id)
                    next_revive = time.monotonic() + 1.0
                time.sleep(POLL)
        except KeyboardInterrupt:
            self.terminate_job(job_id)
            while self._job(job_id).state != "completed":
                self._revive(job_id)
                time.sleep(POLL)
            raise

    def _settled(self, job_id: str, status: JobStatus) -> bool:
        if status.state == "completed" or not status.tasks or status.stuck:
            return True
        return status.done and status.state == "active" and self._job(job_id).all_tasks_complete_mode == "noaction"

    # ---- the runner --------------------------------------------------------------------------

    def _ensure_runner(self, job: JobState) -> None:
        """Start the job's runner unless one runs. Called with the job lock held: a runner only
        decides to exit under that lock, so work added here is never left without a runner."""
        if not is_free(self.root.runner_lock(job.id)):
            return
        self.root.runner_error(job.id).unlink(missing_ok=True)
        import azure.batch

        # The runner imports what this process imported, even when this process is a host
        # application (Blender, Maya) that added those folders to its own sys.path only.
        folders = (Path(__file__).resolve().parents[3], Path(azure.batch.__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([*map(str, folders), *filter(None, [env.get("PYTHONPATH")])])
        with open(self.root.runner_log(job.id), "ab") as log:
            subprocess.Popen([_python(), "-m", "azrender.backends.local", str(self.root.job_dir(job.id))],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                             cwd=self.root.job_dir(job.id), start_new_session=True)

    def _revive(self, job_id: str) -> None:
        """A runner killed (machine sleep, OOM, kill -9) while work remains: start a new one,
        which requeues what the dead one left running."""
        self._job(job_id)  # an unknown job is NotFound before its lock would make a folder for it
        with locked(self.root.job_lock(job_id)):
            job = self._job(job_id)
            error = self.root.runner_error(job_id)
            if error.exists() and is_free(self.root.runner_lock(job_id)):
                raise JobError(f"the local runner of job {job_id!r} failed: {error.read_text().strip()}",
                               hint=f"see {self.root.runner_log(job_id)}")
            work = job.state == "terminating" or (job.state == "active" and any(
                t.state != "completed" for t in self._tasks(job_id)))
            if work:
                self._ensure_runner(job)

    def list_jobs(self, **_service_options) -> list[BatchJob]:
        return [self.get_job(load(path, JobState).id) for path in sorted((self.root.root / "jobs").glob("*/job.json"))]
