"""Stage 5: where a job runs, behind one small protocol (:mod:`azrender.backends.base`), picked in
one place (:func:`azrender.backends.choose.choose_backend`). Both backends send the same azure-batch
SDK models:

- ``batch``: the real ``azure.batch.BatchClient`` against an Azure Batch account;
- ``local``: ``azrender.backends.local`` runs the same models on this machine (nodes as folders).

Whatever works locally works on a pool, because the job spec is literally the same objects.
This module holds what every backend reports: a job's status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# What every surface (CLI, Blender panel, Maya/3ds Max dialog) calls each backend.
LABELS = {"local": "This machine", "batch": "Azure Batch"}


@dataclass(frozen=True)
class TaskState:
    id: str
    state: str  # active | preparing | running | completed
    exit_code: int | None = None
    retries: int = 0
    node: str | None = None
    stderr_tail: str = ""  # last lines of stderr, for failed tasks
    failure: str = ""  # Batch's failureInfo "code: message" when the task did not succeed
    seconds: float | None = None  # node time of its last attempt (so far, while running)


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
        return [t for t in self.tasks if t.state == "completed" and (t.exit_code not in (0, None) or t.failure)]

    @property
    def done(self) -> bool:
        return bool(self.tasks) and all(t.state == "completed" for t in self.tasks)

    def to_json(self) -> dict:
        """What ``azrender status --json`` prints (and ``submit --wait --json`` under ``status``)."""
        counts = {s: self.count(s) for s in ("active", "preparing", "running", "completed")}
        return {"job_id": self.job_id, "backend": self.backend, "state": self.state, "counts": counts,
                "failed": [{"id": t.id, "exit_code": t.exit_code, "retries": t.retries, "node": t.node,
                            "failure": t.failure, "stderr_tail": t.stderr_tail} for t in self.failed],
                "done": self.done}


def attempt_seconds(start, end) -> float | None:
    """Seconds between a task attempt's start and end (now while it runs); datetimes or ISO text."""
    from datetime import datetime, timezone

    def parse(value):
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    start, end = parse(start), parse(end) or datetime.now(timezone.utc)
    if start is None:
        return None
    return max(0.0, (end - start).total_seconds())


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
