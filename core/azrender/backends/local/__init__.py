"""The local backend: a faithful single-machine Azure Batch.

``LocalBatchClient(root)`` takes the same azure-batch 15 models as ``azure.batch.BatchClient``
(pools, jobs with preparation/release tasks, tasks with resource files, output files, environment
settings and constraints) and runs them on simulated nodes: folders under ``root`` with the real
node layout and ``AZ_BATCH_*`` variables. A job on pool ``"local"`` needs no ``create_pool``.
"""

from .client import IMPLICIT_POOL, LocalBatchClient, default_root

__all__ = ["IMPLICIT_POOL", "LocalBatchClient", "default_root"]
