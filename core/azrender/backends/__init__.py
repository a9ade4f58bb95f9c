"""Stage 5: where a job runs, behind one small protocol (:mod:`azrender.backends.base`), picked in
one place (:func:`azrender.backends.choose.choose_backend`). Both backends send the same azure-batch
SDK models:

- ``batch``: the real ``azure.batch.BatchClient`` against an Azure Batch account;
- ``local``: ``azrender.backends.local`` runs the same models on this machine (nodes as folders).

Whatever works locally works on a pool, because the job spec is literally the same objects.
This module holds what every backend reports: a job's status.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

# What every surface (CLI, Blender panel, Maya/3ds Max dialog) calls each backend.
LABELS = {"local": "This machine", "batch": "Azure Batch"}


@dataclass(frozen=True)
class TaskState:
    id: str
    state: str  # active | preparing | running | completed
    exit_code: int | None = None
    retries: int = 0  # failed tries run again
    requeues: int = 0  # times its node went away under it (preempted, rebooted): not failed tries
    node: str | None = None
    stderr_tail: str = ""  # last lines of stderr, for failed tasks
    failure: str = ""  # Batch's failureInfo "code: message" when the task did not succeed
    seconds: float | None = None  # node time of its last attempt (so far, while running)

    job: str = ""  # the follow-up job (``azrender retry``) the task belongs to; "" for the job itself
    retried: bool = False  # failed, but every frame of it was given to a later retry

    @property
    def unsuccessful(self) -> bool:
        return self.state == "completed" and (self.exit_code not in (0, None) or bool(self.failure))

    @property
    def reason(self) -> str:
        """What an exit code of azrender's node watchdog means (a hung or runaway render), else ""."""
        from azrender.node.watch import EXIT_REASONS

        return EXIT_REASONS.get(self.exit_code, "")

    def to_json(self) -> dict:
        return {"id": self.id, "exit_code": self.exit_code, "retries": self.retries, "requeues": self.requeues,
                "node": self.node, "failure": self.failure, "stderr_tail": self.stderr_tail}


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    backend: str  # "batch" | "local"
    state: str  # active | completed | terminated | deleted
    tasks: tuple[TaskState, ...] = field(default_factory=tuple)
    preparation_failed: tuple[TaskState, ...] = ()  # job preparation task per node where it failed
    prepared_nodes: int = 0  # nodes where it succeeded
    quarantined: tuple[tuple[str, str], ...] = ()  # (node id, why): nodes that get no more of its tasks
    expected_key: str = ""  # store key of the job's outputs.json (its metadata), "" when it names none

    def count(self, state: str) -> int:
        return sum(1 for t in self.tasks if t.state == state)

    @property
    def stuck(self) -> bool:
        """The job preparation task failed and no node can run a task: Batch keeps such tasks
        active forever, so waiting ends here, with the preparation failure."""
        return (bool(self.preparation_failed) and not self.prepared_nodes and not self.done
                and not any(t.state in ("preparing", "running") for t in self.tasks))

    @property
    def failed(self) -> list[TaskState]:
        return [t for t in self.tasks if t.unsuccessful and not t.retried]

    @property
    def done(self) -> bool:
        return bool(self.tasks) and all(t.state == "completed" for t in self.tasks)

    def to_json(self) -> dict:
        """What ``azrender status --json`` prints (and ``submit --wait --json`` under ``status``)."""
        counts = {s: self.count(s) for s in ("active", "preparing", "running", "completed")}
        return {"job_id": self.job_id, "backend": self.backend, "state": self.state, "counts": counts,
                "failed": [{**t.to_json(), "job": t.job or self.job_id, "reason": t.reason} for t in self.failed],
                "preparation_failed": [t.to_json() for t in self.preparation_failed],
                "retried": [{"id": t.id, "job": t.job or self.job_id} for t in self.tasks if t.retried],
                "quarantined_nodes": [{"node": node, "reason": why} for node, why in self.quarantined],
                "stuck": self.stuck, "done": self.done}


def metadata_value(job, name: str) -> str:
    """The value of job metadata item ``name`` of an SDK job (or job spec), "" when absent."""
    return next((item.value for item in getattr(job, "metadata", None) or () if item.name == name), "") or ""


def attempt_seconds(start, end) -> float | None:
    """Seconds between a task attempt's start and end (now while it runs); datetimes or ISO text."""
    from datetime import datetime, timezone

    def parse(value):
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    start, end = parse(start), parse(end) or datetime.now(timezone.utc)
    if start is None:
        return None
    return max(0.0, (end - start).total_seconds())

def with_retries_of(job_id: str, status_of) -> JobStatus:
    """``status_of(job_id)`` merged with the status of each follow-up job ``azrender retry`` made
    of it: those the job record of this machine lists, else (another machine, a record cleaned)
    those found by their ids (``<job>-r1``, ``-r2``...) until one is unknown."""
    from azrender import jobrecord
    from azrender.backends.retry import retry_id
    from azrender.errors import JobError

    record = jobrecord.load(job_id)
    status = status_of(job_id)
    if record is not None:
        return with_retries(status, [status_of(r) for r in record.retries])
    found: list[JobStatus] = []
    while True:
        try:
            found.append(status_of(retry_id(job_id, len(found))))
        except JobError:
            return with_retries(status, found)


def with_retries(status: JobStatus, retries: list[JobStatus]) -> JobStatus:
    """One status for a job and its follow-up retry jobs (oldest first): every task, each failed
    task whose frames (of its layer and camera) a later job rendered again marked ``retried``."""
    from azrender.jobs.build import task_frames, task_set_prefix

    def frames_of(t) -> set[tuple[str, int]]:
        return {(task_set_prefix(t.id), f) for f in task_frames(t.id)}

    if not retries:
        return status
    tasks = list(status.tasks) + [replace(t, job=r.job_id) for r in retries for t in r.tasks]
    jobs = [status.job_id] + [r.job_id for r in retries]
    later: list[set[tuple[str, int]]] = [set() for _ in jobs]  # frames given to any job after jobs[i]
    for i in range(len(jobs) - 2, -1, -1):
        later[i] = later[i + 1] | {f for t in tasks if (t.job or status.job_id) == jobs[i + 1] for f in frames_of(t)}
    marked = []
    for t in tasks:
        frames = frames_of(t)
        covered = bool(frames) and frames <= later[jobs.index(t.job or status.job_id)]
        marked.append(replace(t, retried=t.unsuccessful and covered))
    unfinished = [s.state for s in (status, *retries) if s.state != "completed"]
    quarantined = tuple(dict.fromkeys(q for s in (status, *retries) for q in s.quarantined))
    return replace(status, state=unfinished[-1] if unfinished else "completed", tasks=tuple(marked),
                   quarantined=quarantined)


def output_tail(read, lines: int) -> str:
    """The last ``lines`` lines a failed task wrote to stderr or, when stderr is empty (Blender and
    Maya print their errors on stdout), to stdout. ``read(name)`` returns a log's bytes or None."""
    from azrender.redact import redact

    for name in ("stderr.txt", "stdout.txt"):
        data = read(name)
        text = data.decode("utf-8", "replace").strip() if data else ""
        if text:
            return redact("\n".join(text.splitlines()[-lines:]))
    return ""


def preparation_status(client, job_id: str, lines: int) -> tuple[tuple[TaskState, ...], int]:
    """(failed job preparation tasks with their output tail, nodes where it succeeded), from
    Batch's preparation-and-release task status list and node files; the local backend's client
    answers the same two calls."""
    failed, prepared = [], 0
    for entry in client.list_job_preparation_and_release_task_status(job_id):
        info = entry.job_preparation_task_execution_info
        if info is None or str(getattr(info.state, "value", info.state)) != "completed":
            continue
        failure = info.failure_info
        if failure is None and info.exit_code == 0:
            prepared += 1
            continue
        folder = _node_file_path(info)

        def read(name: str, folder=folder, entry=entry) -> bytes | None:
            try:
                return b"".join(client.download_node_file(entry.pool_id, entry.node_id, f"{folder}/{name}"))
            except Exception:  # noqa: BLE001 - the node is gone or the file never written: no tail
                return None

        failed.append(TaskState(id="job preparation", state="completed", exit_code=info.exit_code,
                                retries=info.retry_count or 0, node=entry.node_id,
                                failure=f"{failure.code}: {failure.message}" if failure else "",
                                stderr_tail=output_tail(read, lines) if folder else ""))
    return tuple(failed), prepared


def _node_file_path(info) -> str:
    """The task folder as the node file API names it (``workitems/<job>/job-1/<task>``)."""
    url = info.task_root_directory_url or ""
    if "/files/" in url:
        return url.split("/files/", 1)[1].strip("/")
    folder = (info.task_root_directory or "").replace("\\", "/")
    return folder[folder.find("workitems/"):] if "workitems/" in folder else folder.strip("/")
