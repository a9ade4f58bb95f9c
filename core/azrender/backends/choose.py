"""The one place that picks a backend."""

from __future__ import annotations

from azrender.backends.base import Backend
from azrender.enums import BackendKind


def choose_backend(kind: BackendKind | str | None, settings, *, job_id: str | None = None) -> Backend:
    """``kind`` ("local" | "batch") when given; else the backend that ran ``job_id`` when this
    machine submitted it (its job record); else Batch when an account is configured, else local."""
    if kind is None and job_id is not None:
        from azrender import jobrecord

        record = jobrecord.load(job_id)
        kind = record.backend if record else None
    kind = BackendKind.parse(kind or ("batch" if settings.has_batch else "local"))
    if kind == BackendKind.BATCH:
        from azrender.backends.batch import BatchBackend

        return BatchBackend(settings)
    from azrender.backends.local.backend import LocalBackend

    return LocalBackend(settings)
