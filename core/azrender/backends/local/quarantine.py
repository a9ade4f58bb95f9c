"""Bad nodes: a node on which ``limit`` of a job's task attempts failed, or its job preparation
task, gets no more of that job's tasks (azrender's policy; on Batch the backend disables
scheduling on such a node). The limit travels in the job's metadata, so the runner that plays
the Batch service reads it from the job like everything else."""

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
    def __init__(self, limit: int | None, known: dict[str, str]):
        self.limit = limit
        self.reasons = dict(known)  # node id -> why (kept in the job record across runners)
        self.failures: Counter[str] = Counter()

    def __contains__(self, node_id: str) -> bool:
        return node_id in self.reasons

    def task_failed(self, node_id: str) -> str | None:
        """Count a failed attempt on ``node_id``; the reason when this one quarantines it."""
        self.failures[node_id] += 1
        if self.limit is None or node_id in self.reasons or self.failures[node_id] < self.limit:
            return None
        self.reasons[node_id] = f"{self.failures[node_id]} task attempts of this job failed there"
        return self.reasons[node_id]

    def preparation_failed(self, node_id: str) -> str | None:
        if node_id in self.reasons:
            return None
        self.reasons[node_id] = "its job preparation task failed"
        return self.reasons[node_id]
