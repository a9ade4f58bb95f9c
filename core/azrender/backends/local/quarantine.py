"""Bad nodes: a node on which ``limit`` of a job's tasks failed gets no more of that job's tasks
(azrender's policy; on Batch the backend disables scheduling on such a node). The limit travels in
the job's metadata, so the runner that plays the Batch service reads it from the job like
everything else. A node whose job preparation task failed takes no task of the job anyway (until
it reboots, as on Batch), and status shows that failure."""

from __future__ import annotations

from collections import Counter

from azrender.jobs.model import NODE_FAILURE_LIMIT_KEY as METADATA_KEY


def failure_limit(job_spec) -> int | None:
    """The job's limit (its metadata), or None when it asks for no quarantine."""
    for item in job_spec.metadata or ():
        if item.name == METADATA_KEY:
            try:
                return int(item.value) if int(item.value) > 0 else None
            except (TypeError, ValueError):
                return None
    return None


class Quarantine:
    """Which nodes a job's tasks avoid. A node is bad when ``limit`` different tasks failed there;
    the last usable node is never quarantined (then the tasks are at fault, not the nodes)."""

    def __init__(self, limit: int | None, known: dict[str, str]):
        self.limit = limit
        self.reasons = dict(known)  # node id -> why (kept in the job record across runners)
        self.failed: dict[str, set[str]] = {}  # node id -> ids of the tasks that failed there

    def __contains__(self, node_id: str) -> bool:
        return node_id in self.reasons

    def tried(self, task_id: str) -> set[str]:
        """The nodes ``task_id`` already failed on (its retries go elsewhere when they can)."""
        return {node for node, tasks in self.failed.items() if task_id in tasks}

    def task_failed(self, node_id: str, task_id: str, usable: set[str]) -> str | None:
        """Count ``task_id`` failing on ``node_id`` (``usable``: the nodes still usable); the
        reason when this quarantines the node."""
        tasks = self.failed.setdefault(node_id, set())
        tasks.add(task_id)
        if self.limit is None or node_id in self.reasons or len(tasks) < self.limit or not usable - {node_id}:
            return None
        self.reasons[node_id] = f"{len(tasks)} tasks of this job failed there"
        return self.reasons[node_id]
