"""Stage 5: where a job runs. Both backends take the same azure-batch SDK models:

- ``batch``: the real ``azure.batch.BatchClient`` against an Azure Batch account;
- ``local``: ``azrender.backends.local`` runs the same models on this machine (nodes as folders).

Whatever works locally works on a pool, because the job spec is literally the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class TaskState:
    id: str
    state: str  # active | preparing | running | completed
    exit_code: int | None = None
    retries: int = 0
    node: str | None = None
    stderr_tail: str = ""  # last lines of stderr, for failed tasks
    failure: str = ""  # Batch's failureInfo "code: message" when the task did not succeed
    job: str = ""  # the follow-up job (``azrender retry``) the task belongs to; "" for the job itself
    retried: bool = False  # failed, but every frame of it was given to a later retry

    @property
    def unsuccessful(self) -> bool:
        return self.state == "completed" and (self.exit_code not in (0, None) or bool(self.failure))


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    backend: str  # "batch" | "local"
    state: str  # active | completed | terminated | deleted
    tasks: tuple[TaskState, ...] = field(default_factory=tuple)

    def count(self, state: str) -> int:
        return sum(1 for t in self.tasks if t.state == state)

    @property
    def failed(self) -> list[TaskState]:
        return [t for t in self.tasks if t.unsuccessful and not t.retried]

    @property
    def done(self) -> bool:
        return bool(self.tasks) and all(t.state == "completed" for t in self.tasks)


def with_retries(status: JobStatus, retries: list[JobStatus]) -> JobStatus:
    """One status for a job and its follow-up retry jobs (oldest first): every task, each failed
    task whose frames a later job rendered again marked ``retried``."""
    from azrender.jobs.build import task_frames

    if not retries:
        return status
    tasks = list(status.tasks) + [replace(t, job=r.job_id) for r in retries for t in r.tasks]
    jobs = [status.job_id] + [r.job_id for r in retries]
    later: list[set[int]] = [set() for _ in jobs]  # frames given to any job after jobs[i]
    for i in range(len(jobs) - 2, -1, -1):
        later[i] = later[i + 1] | {f for t in tasks if (t.job or status.job_id) == jobs[i + 1] for f in task_frames(t.id)}
    marked = []
    for t in tasks:
        frames = set(task_frames(t.id))
        covered = bool(frames) and frames <= later[jobs.index(t.job or status.job_id)]
        marked.append(replace(t, retried=t.unsuccessful and covered))
    unfinished = [s.state for s in (status, *retries) if s.state != "completed"]
    return replace(status, state=unfinished[-1] if unfinished else "completed", tasks=tuple(marked))


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
