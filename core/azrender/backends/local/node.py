"""A simulated compute node: its folders and the variables Batch sets for each kind of task.

The layout mirrors ``/mnt/batch/tasks`` on a Linux pool node (see "Files and directories in Azure
Batch" and "Azure Batch runtime environment variables")::

    <node root>/applications  fsmounts/  shared/  startup/wd/  volatile/
    <node root>/workitems/<job>/job-1/<task>/{stdout.txt,stderr.txt,certs/,wd/}
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from azrender.layout import NODE_CACHE_DIR

ACCOUNT_NAME = "local"
_FOLDERS = ("applications", "fsmounts", "shared", "startup/wd", "volatile", "workitems")


@dataclass(frozen=True)
class NodeLayout:
    pool_id: str
    node_id: str
    root: Path  # AZ_BATCH_NODE_ROOT_DIR
    dedicated: bool = True  # False: a Spot node, which Batch may preempt

    @property
    def shared(self) -> Path:
        return self.root / "shared"

    @property
    def mounts(self) -> Path:
        return self.root / "fsmounts"

    @property
    def startup(self) -> Path:
        return self.root / "startup"

    def task_dir(self, job_id: str, task_id: str) -> Path:
        return self.root / "workitems" / job_id / "job-1" / task_id

    def create(self) -> None:
        for folder in _FOLDERS:
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        # Unlike pool nodes, these share one disk: one asset cache for the pool, not a copy per node
        # (the node tool locks it, as it does for several jobs on one node).
        cache = self.root.parents[1] / "node-cache"
        cache.mkdir(exist_ok=True)
        link = self.shared / NODE_CACHE_DIR
        if not link.is_symlink():
            link.symlink_to(cache, target_is_directory=True)

    def _node_env(self) -> dict[str, str]:
        return {
            "AZ_BATCH_ACCOUNT_NAME": ACCOUNT_NAME,
            "AZ_BATCH_ACCOUNT_URL": self.root.parents[3].as_uri(),
            "AZ_BATCH_POOL_ID": self.pool_id,
            "AZ_BATCH_NODE_ID": self.node_id,
            "AZ_BATCH_NODE_IS_DEDICATED": "true" if self.dedicated else "false",
            "AZ_BATCH_NODE_ROOT_DIR": str(self.root),
            "AZ_BATCH_NODE_SHARED_DIR": str(self.shared),
            "AZ_BATCH_NODE_MOUNTS_DIR": str(self.mounts),
            "AZ_BATCH_NODE_STARTUP_DIR": str(self.startup),
            "AZ_BATCH_NODE_STARTUP_WORKING_DIR": str(self.startup / "wd"),
            "AZ_BATCH_TASK_USER": getpass.getuser(),
            "AZ_BATCH_TASK_USER_IDENTITY": "PoolNonAdmin",
        }

    def start_task_env(self) -> dict[str, str]:
        """The start task has no job or task id; its task dir is ``startup``."""
        return {**self._node_env(), "AZ_BATCH_TASK_DIR": str(self.startup),
                "AZ_BATCH_TASK_WORKING_DIR": str(self.startup / "wd")}

    def task_env(self, job_id: str, task_id: str, *, prep_id: str | None, is_prep: bool = False) -> dict[str, str]:
        """A job task, preparation task or release task; ``prep_id`` names the job's preparation task."""
        task_dir = self.task_dir(job_id, task_id)
        env = {**self._node_env(), "AZ_BATCH_JOB_ID": job_id, "AZ_BATCH_TASK_ID": task_id,
               "AZ_BATCH_TASK_DIR": str(task_dir), "AZ_BATCH_TASK_WORKING_DIR": str(task_dir / "wd"),
               "AZ_BATCH_CERTIFICATES_DIR": str(task_dir / "certs")}
        if prep_id and not is_prep:
            prep_dir = self.task_dir(job_id, prep_id)
            env["AZ_BATCH_JOB_PREP_DIR"] = str(prep_dir)
            env["AZ_BATCH_JOB_PREP_WORKING_DIR"] = str(prep_dir / "wd")
        return env
