"""The Azure Batch backend (:class:`BatchBackend`): send :class:`~azrender.jobs.batch_models.BatchRequests` with the real
``azure.batch.BatchClient``, read a job's status back.

Submission is all or nothing: task ids are checked before anything is created, the pool must
exist (or is created), and if any task cannot be added the job (and a pool created for it) is
deleted again. Tasks go in collections that respect both of Batch's limits (100 tasks, 1 MB of
JSON), several collections at once.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Callable

from azrender.backends import JobStatus, TaskState, attempt_seconds, metadata_value, output_tail, preparation_status
from azrender.jobs.model import EXPECTED_OUTPUTS_KEY
from azrender.backends.base import Backend, PoolChoice
from azrender.enums import BackendKind
from azrender.errors import JobError, UsageError

log = logging.getLogger(__name__)

MAX_TASKS_PER_COLLECTION = 100
MAX_COLLECTION_BYTES = 1_000_000  # Batch's limit is 1 MB; stay clear of it including the envelope
SERVER_RETRIES = 3
STDERR_LINES = 20
BATCH_SCOPE = "https://batch.core.windows.net//.default"  # the SDK's own (azure.batch._configuration)


def make_client(batch_url: str, credential):
    """A BatchClient for ``batch_url`` with a key credential or an azure-identity token credential."""
    from azure.batch import BatchClient

    return BatchClient(batch_url, credential)


def check_task_ids(tasks) -> None:
    """Batch task ids: 1-64 letters, digits, '-' or '_', unique ignoring case."""
    from azrender.layout import check_id

    seen: dict[str, str] = {}
    for task in tasks:
        task_id = task["id"]  # the REST field: SDK attribute access costs 20x more on 10,000 tasks
        check_id("task", task_id)
        other = seen.get(task_id.lower())
        if other is not None:
            raise JobError(f"task id {task_id!r} is used twice" if other == task_id else
                           f"task ids {other!r} and {task_id!r} are the same to Batch (ids ignore case)")
        seen[task_id.lower()] = task_id


def _body_size(task) -> int:
    # The encoder the client itself sends with (azure-batch 15 has no public one; ``as_dict()``
    # would cost 5x more on a 10,000-task job).
    from azure.batch._model_base import SdkJSONEncoder

    return len(json.dumps(task, cls=SdkJSONEncoder, exclude_readonly=True).encode("utf-8"))


def plan_collections(tasks, *, max_tasks: int | None = None, max_bytes: int | None = None) -> list[list]:
    """Split tasks, in order, into collections of at most ``max_tasks`` and ``max_bytes`` of JSON."""
    max_tasks = max_tasks or MAX_TASKS_PER_COLLECTION
    max_bytes = max_bytes or MAX_COLLECTION_BYTES
    collections, current, size = [], [], len('{"value": []}')
    for task in tasks:
        task_size = _body_size(task) + 2  # ", "
        if task_size > max_bytes:
            raise JobError(f"task {task['id']} alone is {task_size:,} bytes of JSON, over Batch's 1 MB request limit")
        if current and (len(current) == max_tasks or size + task_size > max_bytes):
            collections.append(current)
            current, size = [], len('{"value": []}')
        current.append(task)
        size += task_size
    if current:
        collections.append(current)
    return collections


def _error_code(exc) -> str | None:
    model = getattr(exc, "model", None)
    return getattr(model, "code", None) or getattr(getattr(exc, "error", None), "code", None)


def _error_text(exc) -> str:
    model = getattr(exc, "model", None)
    message = getattr(getattr(model, "message", None), "value", None) or getattr(exc, "message", None) or str(exc)
    code = _error_code(exc) or getattr(exc, "status_code", None) or type(exc).__name__
    return f"{code}: {message.splitlines()[0] if message else ''}"


def _batch_error(what: str, exc) -> JobError:
    """One line for any Azure failure: refused, unauthorised (often expired), unreachable."""
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

    hint = None
    if isinstance(exc, ClientAuthenticationError) or getattr(exc, "status_code", None) in (401, 403):
        hint = "check the Batch credentials (az login, or AZRENDER_BATCH_KEY for key auth); they may have expired"
    elif isinstance(exc, ServiceRequestError):
        hint = "check batch_url / --batch-url and the network"
    return JobError(f"{what}: {_error_text(exc)}", hint=hint)


def _add_collection(client, job_id: str, tasks: list) -> list[str]:
    """Add one collection; returns error lines for tasks that could not be added."""
    from azure.batch import models as m
    from azure.core.exceptions import HttpResponseError

    pending, errors = list(tasks), []
    for _ in range(SERVER_RETRIES + 1):
        if not pending:
            break
        try:
            result = client.create_task_collection(job_id, m.BatchTaskGroup(task_values=pending))
        except HttpResponseError as exc:
            if _error_code(exc) == "RequestBodyTooLarge" and len(pending) > 1:
                half = len(pending) // 2  # our size estimate was off: halve and go on
                return (errors + _add_collection(client, job_id, pending[:half])
                        + _add_collection(client, job_id, pending[half:]))
            if exc.status_code and exc.status_code >= 500:
                continue
            return errors + [f"{t['id']}: {_error_text(exc)}" for t in pending]
        by_id = {t["id"]: t for t in pending}
        pending = []
        for r in result.result_values or []:
            if r.status == "servererror":
                pending.append(by_id[r.task_id])
            elif r.status == "clienterror" and not (r.error and r.error.code == "TaskExists"):
                message = getattr(getattr(r.error, "message", None), "value", "") if r.error else ""
                errors.append(f"{r.task_id}: {r.error.code if r.error else 'client error'} {message}".strip())
    return errors + [f"{t['id']}: the Batch service kept failing (server error)" for t in pending]


def submit_batch(client, requests, *, max_concurrency: int = 4,
                 progress: Callable[[int, int], None] | None = None) -> str:
    """Create the pool (if any), the job, and all its tasks; return the job id. Requests that are
    not ``all_tasks_added`` leave the job open for tasks added later (scout frames, budget waves:
    ``azrender.watch.gate``).

    Nothing is left half-created: a job whose tasks could not all be added is deleted, and so is a
    pool created by this call. ``progress(added, total)`` follows the task collections.
    """
    from azure.batch import models as m
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

    job_id = requests.job.id
    check_task_ids(requests.tasks)
    collections = plan_collections(requests.tasks)
    pool_id = requests.job.pool_info.pool_id
    created_pool = False
    try:
        if requests.pool is not None:
            try:
                client.create_pool(requests.pool)
            except HttpResponseError as exc:
                if _error_code(exc) == "PoolExists":
                    raise JobError(f"pool {pool_id} already exists", hint=f"submit to it with --pool {pool_id}") from None
                raise
            created_pool = True
        else:
            try:
                client.get_pool(pool_id, select=["id", "state"])
            except ResourceNotFoundError:
                raise JobError(f"pool {pool_id} does not exist in this Batch account",
                               hint="check --pool or the profile's pool_id") from None
        client.create_job(requests.job)
    except AzureError as exc:
        _rollback(client, None, pool_id if created_pool else None)
        raise _batch_error(f"could not submit job {job_id}", exc) from None
    except JobError:
        _rollback(client, None, pool_id if created_pool else None)
        raise

    errors: list[str] = []
    added = 0
    try:
        with ThreadPoolExecutor(max(1, max_concurrency)) as pool:
            for collection, collection_errors in zip(collections, pool.map(
                    lambda c: _add_collection(client, job_id, c), collections)):
                errors += collection_errors
                added += len(collection) - len(collection_errors)
                if progress:
                    progress(added, len(requests.tasks))
        if not errors and requests.all_tasks_added:
            client.update_job(job_id, m.BatchJobUpdateOptions(all_tasks_complete_mode="terminatejob"))
    except BaseException as exc:  # Ctrl-C or a network failure mid-way: leave nothing behind
        _rollback(client, job_id, pool_id if created_pool else None)
        if isinstance(exc, AzureError):
            raise _batch_error(f"adding tasks to job {job_id} failed (the job was removed)", exc) from None
        raise
    if errors:
        _rollback(client, job_id, pool_id if created_pool else None)
        shown = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
        raise JobError(f"{len(errors)} task(s) could not be added to job {job_id} ({shown}); the job was removed")
    return job_id


def _rollback(client, job_id: str | None, pool_id: str | None) -> None:
    for what, ident, delete in (("job", job_id, "begin_delete_job"), ("pool", pool_id, "begin_delete_pool")):
        if not ident:
            continue
        try:
            getattr(client, delete)(ident)
        except Exception as exc:  # report, but the original error is what the user must see
            log.warning("could not remove %s %s after a failed submission: %s", what, ident, exc)


def _state(value) -> str:
    return str(getattr(value, "value", value) or "")


def batch_status(client, job_id: str, *, stderr_lines: int = STDERR_LINES) -> JobStatus:
    """Task states of ``job_id``; failed tasks carry the last lines of their stderr."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    try:
        job = client.get_job(job_id, select=["id", "state", "metadata"])
        tasks = list(client.list_tasks(job_id, select=["id", "state", "executionInfo", "nodeInfo"]))
    except ResourceNotFoundError:
        raise JobError(f"no job {job_id} in this Batch account") from None
    except AzureError as exc:
        raise _batch_error(f"could not read job {job_id}", exc) from None
    states = []
    for task in tasks:
        info = task.execution_info
        failure = info.failure_info if info else None  # resource files, output upload, timeout...
        state = TaskState(id=task.id, state=_state(task.state), exit_code=info.exit_code if info else None,
                          retries=info.retry_count if info and info.retry_count else 0,
                          requeues=info.requeue_count if info and info.requeue_count else 0,
                          node=task.node_info.node_id if task.node_info else None,
                          failure=f"{failure.code}: {failure.message}" if failure else "",
                          seconds=attempt_seconds(info.start_time, info.end_time) if info else None)
        if state.state == "completed" and (state.exit_code not in (0, None) or failure):
            state = replace(state, stderr_tail=_stderr_tail(client, job_id, task.id, stderr_lines))
        states.append(state)
    prep_failed, prepared = (), 0
    if not all(t.state == "completed" for t in states) or not states:
        try:
            prep_failed, prepared = preparation_status(client, job_id, stderr_lines)
        except AzureError as exc:
            raise _batch_error(f"could not read the preparation tasks of job {job_id}", exc) from None
    return JobStatus(job_id=job_id, backend="batch", state=_state(job.state), tasks=tuple(states),
                     preparation_failed=prep_failed, prepared_nodes=prepared,
                     expected_key=metadata_value(job, EXPECTED_OUTPUTS_KEY))


def failed_tasks_per_node(client, job_id: str, pool_id: str, tasks) -> tuple[dict[str, set[str]], set[str]]:
    """({node: ids of the job's tasks that failed there}, nodes of the pool still taking tasks).
    Exact as far as Batch reports it: each finished task's last attempt (its nodeInfo) and every
    attempt the nodes' own recent-task lists show failed there, a try Batch then retried
    elsewhere included. A requeued (preempted) attempt is no failure."""
    failed: dict[str, set[str]] = {}
    for task in tasks:
        if task.unsuccessful and task.node:
            failed.setdefault(task.node, set()).add(task.id)
    schedulable = set()
    for node in client.list_nodes(pool_id, select=["id", "schedulingState", "recentTasks"]):
        if _state(node.scheduling_state) != "disabled":
            schedulable.add(node.id)
        for info in node.recent_tasks or ():
            run = info.execution_info
            if info.job_id != job_id or run is None:
                continue
            if run.failure_info is not None or run.exit_code not in (None, 0) or _state(run.result) == "failure":
                failed.setdefault(node.id, set()).add(info.task_id)
    return failed, schedulable


def _preparation_failed_nodes(client, job_id: str) -> list[str]:
    nodes = []
    for entry in client.list_job_preparation_and_release_task_status(job_id):
        info = entry.job_preparation_task_execution_info
        if info is not None and _state(info.state) == "completed" and (
                info.failure_info is not None or info.exit_code not in (0, None)):
            nodes.append(entry.node_id)
    return nodes


def quarantine_nodes(client, job_id: str, status: JobStatus) -> JobStatus:
    """azrender's bad-node policy on Batch: a node on which the job's limit of different tasks
    failed (:func:`failed_tasks_per_node`) or its preparation task failed gets scheduling
    disabled (what runs there finishes; nothing new starts) — for task failures never the last
    node taking tasks (then the tasks are at fault); ``status`` comes back naming those nodes."""
    from azure.batch import models as m
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    from azrender.backends.local.quarantine import failure_limit

    try:
        job = client.get_job(job_id, select=["id", "poolInfo", "metadata"])
        limit = failure_limit(job)
        if not limit:
            return status
        pool_id = job.pool_info.pool_id
        failed, schedulable = failed_tasks_per_node(client, job_id, pool_id, status.tasks)
        reasons = {node: "its job preparation task failed" for node in _preparation_failed_nodes(client, job_id)}
        for node, ids in sorted(failed.items(), key=lambda item: -len(item[1])):
            if len(ids) >= limit and node not in reasons and schedulable - set(reasons) - {node}:
                reasons[node] = f"{len(ids)} tasks of this job failed there"
        for node in sorted(reasons):
            if node not in schedulable:
                continue  # disabled already (or gone)
            try:
                client.disable_node_scheduling(pool_id, node, m.BatchNodeDisableSchedulingOptions(
                    node_disable_scheduling_option="taskcompletion"))
            except ResourceNotFoundError:
                pass  # the node left the pool already
    except AzureError as exc:
        raise _batch_error(f"could not quarantine the bad nodes of job {job_id}", exc) from None
    return replace(status, quarantined=tuple(sorted(reasons.items())))


def _stderr_tail(client, job_id: str, task_id: str, lines: int) -> str:
    from azure.core.exceptions import HttpResponseError

    def read(name: str) -> bytes | None:
        try:
            return b"".join(client.download_task_file(job_id, task_id, name))
        except HttpResponseError:
            return None  # the node is gone: the log is in the store under jobs/<job>/logs/<task>/

    return output_tail(read, lines)


class BatchBackend(Backend):
    """Jobs on an Azure Batch account (``settings.batch_url``), through the real SDK client."""

    kind = BackendKind.BATCH
    interrupt_cancels = False
    POLL_SECONDS = 15

    def __init__(self, settings):
        self.settings = settings
        self._client = None
        self._dry_run = False
        self._pool_blender = None  # azrender.jobs.pool_blender.PoolBlender, decided with the Blender

    @property
    def client(self):
        if self._client is None:
            from azrender.settings import batch_credential

            _require_account(self.settings)
            self._client = make_client(self.settings.batch_url, batch_credential(self.settings))
        return self._client

    def check(self, *, host: str, node_os: str, storage_mode: str, storage_url: str, dry_run: bool) -> None:
        self._dry_run = dry_run
        if not dry_run:
            _require_account(self.settings)

    def authenticate(self) -> None:
        """A credential for the Batch account, found now: not after the assets were uploaded."""
        from azrender.settings import batch_credential

        _require_account(self.settings)
        credential = batch_credential(self.settings)  # a key auth without its key: one line
        if hasattr(credential, "get_token"):  # azure-identity: ask for the token the client will use
            credential.get_token(BATCH_SCOPE)
        self._client = self._client or make_client(self.settings.batch_url, credential)

    def pool(self, submission, plugin_manager) -> PoolChoice:
        from azrender.settings import pool_spec

        mounts = submission.storage_mode != "copy"
        chosen = plugin_manager.hook.azrender_choose_pool(submission=submission)
        if chosen:
            return PoolChoice(chosen, None, mounts)
        spec = pool_spec(self.settings)
        decided = self._pool_blender if submission.host == "blender" else None
        if decided is not None and not decided.create:  # an existing pool, with the Blender it records
            return PoolChoice(decided.pool_id, None, mounts, blender=decided.version)
        if spec is not None:
            from azrender.backends.allocation import check_spot

            check_spot(spec, self.settings)
            if decided is not None and decided.version:  # the pool's start task installs that Blender
                from azrender.jobs.pool_blender import METADATA
                from azrender.jobs.provision import blender_start_task

                spec = replace(spec, id=decided.pool_id, metadata=spec.metadata + ((METADATA, decided.version),),
                               start_task=blender_start_task(decided.version, self.settings.blender_sha256))
            return PoolChoice(spec.id, spec, spec.mount is not None, blender=decided.version if decided else None)
        return PoolChoice(self.settings.pool_id, None, mounts)

    def executable(self, host: str) -> str | None:
        return None

    def _pinned_blender(self, explicit: str | None) -> str | None:
        from azrender.jobs.provision import full_version

        return full_version(explicit or self.settings.blender or "")

    def _recorded_blender(self, pool_id: str):
        """What pool ``pool_id`` records about its Blender (the lookup of :func:`azrender.jobs.pool_blender.choose`)."""
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        from azrender.jobs.pool_blender import MISSING, recorded

        if self._dry_run:
            return MISSING  # a dry run reads nothing from Batch: the pool as the profile describes it
        try:
            return recorded(self.client.get_pool(pool_id, select=["id", "metadata"]))
        except ResourceNotFoundError:
            return MISSING
        except AzureError as exc:
            raise _batch_error(f"could not read pool {pool_id}", exc) from None

    def blender_executable(self, *, explicit, submitting, scene, scene_name) -> str | None:
        """The pool's Blender: a pinned X.Y.Z (``--blender`` or the profile's) goes to a pool that
        records it (created with its start task when the profile describes pools); else the
        Blender the configured pool records, when it opens the scene; a path: that Blender on the
        nodes (a custom image); else ``blender`` on the nodes' PATH. Each task checks its Blender
        against the scene's version (and the pool's record) before rendering."""
        from azrender.jobs.pool_blender import choose
        from azrender.jobs.provision import node_executable
        from azrender.node.blender_version import opens, parse, refusal

        choice = explicit or self.settings.blender
        pinned = self._pinned_blender(explicit)
        if pinned and scene is not None and not opens(parse(pinned), scene):
            raise UsageError(refusal(parse(pinned), scene, scene_name, where="the pool's pinned Blender"))
        if self.settings.node_os != "linux":
            pinned = None  # the start task recipe is for Linux nodes; Windows pools bring their own Blender
        can_create = self.settings.pool is not None
        pool_id = self.settings.pool_id or ("azrender" if can_create else None)
        self._pool_blender = None if pool_id is None else choose(
            pool_id, pinned=pinned, scene=scene, scene_name=scene_name, can_create=can_create,
            lookup=self._recorded_blender)
        if self._pool_blender is not None and self._pool_blender.version:
            return node_executable(self._pool_blender.version)
        if choice and any(sep in choice for sep in "/\\"):
            return choice
        return None

    def pool_size(self, requests, *, dry_run: bool) -> tuple[str, int]:
        """The pool spec's size and nodes; else the profile's ``vm_size`` and the pool's nodes as
        Batch reports them (one node when it cannot be read)."""
        pool = requests.pool
        if pool is not None:
            nodes = (pool.target_dedicated_nodes or 0) + (pool.target_low_priority_nodes or 0)
            return pool.vm_size, max(1, nodes) * (pool.task_slots_per_node or 1)
        found = None
        if not dry_run:
            try:
                found = self.client.get_pool(requests.job.pool_info.pool_id)
            except Exception as exc:  # permissions, network: the estimate then assumes one node
                log.info("could not read pool %s for the estimate: %s", requests.job.pool_info.pool_id, exc)
        nodes = (getattr(found, "target_dedicated_nodes", None) or 0) + (getattr(found, "target_low_priority_nodes", None) or 0)
        vm = self.settings.vm_size or getattr(found, "vm_size", None) or "unknown"
        return vm, max(1, nodes) * (getattr(found, "task_slots_per_node", None) or 1)

    def submit(self, plan, record):
        submit_batch(self.client, plan.requests)
        return record

    def wait(self, job_id: str, progress) -> JobStatus:
        """Until every task completed, the job ended, or it is stuck (its preparation task failed
        where no node can run its tasks: Batch would keep them active forever)."""
        import time

        while True:
            status = self.status(job_id)
            progress("render", status.count("completed"), len(status.tasks),
                     f"{len(status.failed)} failed" if status.failed else "")
            if status.done or status.stuck or status.state in ("completed", "terminated", "deleted"):
                return status
            time.sleep(self.POLL_SECONDS)

    def status(self, job_id: str) -> JobStatus:
        from azrender.backends import with_retries_of

        return with_retries_of(job_id, lambda job: quarantine_nodes(self.client, job, batch_status(self.client, job)))

    def send(self, requests) -> None:
        submit_batch(self.client, requests)

    def cancel(self, job_id: str) -> None:
        from azure.core.exceptions import AzureError

        try:
            self.client.begin_terminate_job(job_id)
        except AzureError as exc:
            raise _batch_error(f"could not cancel job {job_id}", exc) from None


def _require_account(settings) -> None:
    from azrender.errors import UsageError

    if not settings.has_batch:
        raise UsageError("no Batch account configured", hint="pass --batch-url or set batch_url in config.toml")
