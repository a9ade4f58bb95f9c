"""Per frame what a job rendered and verified, on any machine that has the job's profile.

The files each frame must produce are the job's ``outputs.json`` (:mod:`azrender.jobs.renderplan`):
from the job record when this machine submitted the job, else from the store, at the content key
the job's metadata names (:data:`azrender.jobs.model.EXPECTED_OUTPUTS_KEY`), read with the
profile's storage credential (nothing about it is kept). A task that completed without failing
passed its ``verify`` step; its frame is ``verified`` when the job's outputs store holds every file,
else ``missing`` with the files it lacks. A frame of a running task is ``rendered`` once its files
are in the store (uploaded as each frame is written), else ``rendering``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from azrender.errors import AzrenderError


@dataclass(frozen=True)
class FrameReport:
    rows: tuple[dict, ...] = ()  # {"frame", "set", "task", "job", "state", "outputs", "missing"}, by frame
    error: str | None = None  # one line: why the rows are unknown or their files unchecked

    @property
    def missing(self) -> list[dict]:
        """Rows of frames whose task passed but whose files the outputs store lacks."""
        return [row for row in self.rows if row["missing"]]

    def to_json(self) -> dict:
        return {"frames": list(self.rows), "frames_error": self.error}

    def lines(self) -> list[str]:
        """One line per frame (and layer/camera): verified with its files, missing with the files
        the outputs store lacks, failed, rendered, rendering or waiting; then why they are unknown,
        if they are."""
        lines = []
        for row in self.rows:
            where = f" {row['set']}" if row["set"] else ""
            files = (f" ({', '.join(row['outputs'])})" if row["outputs"] and row["state"] == "verified" else
                     f" ({', '.join(row['missing'])} not in the outputs store)" if row["missing"] else "")
            lines.append(f"  frame {row['frame']}{where}: {row['state']}{files}")
        return lines + ([f"  {self.error}"] if self.error else [])


def frame_report(status, settings) -> FrameReport:
    """The rows of ``status`` (a :class:`~azrender.backends.JobStatus`); ``settings`` the profile's
    (its stores). No rows, and no error, for a job that names no expected files."""
    from azrender import jobrecord
    from azrender.redact import redact

    record = jobrecord.load(status.job_id)
    doc = record.expected if record is not None else None
    if not doc:
        if not status.expected_key:
            return FrameReport()
        try:
            doc = read_expected(status.expected_key, _assets_url(settings))
        except (AzrenderError, OSError, ValueError) as exc:
            return FrameReport(error=redact(f"per-frame status unknown: the job's outputs.json "
                                            f"({status.expected_key}) cannot be read: {_message(exc)}"))
    rows = rows_of(doc, status)
    if not any(row["state"] in ("verified", "rendering") for row in rows):
        return FrameReport(tuple(rows))
    try:
        stored = stored_outputs(status.job_id, _outputs_url(status, settings))
    except (AzrenderError, OSError) as exc:
        return FrameReport(tuple(rows), redact(f"files of the frames not checked: {_message(exc)}"))
    return FrameReport(tuple(_checked(row, stored) for row in rows))


def rows_of(outputs_doc: dict, status) -> list[dict]:
    """Per frame (and task set): its state from the tasks of ``status``, a retry's task standing for
    the frames it rendered again."""
    from azrender.jobs.build import latest_tasks, task_set_prefix

    latest = latest_tasks(status.tasks)
    rows = []
    for tid, entry in outputs_doc.get("tasks", {}).items():
        for frame, paths in entry["frames"].items():
            task = latest.get((task_set_prefix(tid), int(frame)))
            state = ("unknown" if task is None else "failed" if task.unsuccessful else
                     "verified" if task.state == "completed" else
                     "rendering" if task.state in ("running", "preparing") else "waiting")
            rows.append({"frame": int(frame), "set": entry["set"], "task": task.id if task else tid,
                         "job": (task.job if task else "") or status.job_id, "state": state, "outputs": paths,
                         "missing": []})
    return sorted(rows, key=lambda r: (r["frame"], r["set"]))


def _checked(row: dict, stored: set[str]) -> dict:
    """A verified frame whose files the outputs store lacks is ``missing``; a frame of a running
    task whose files all arrived (each frame is uploaded once written, node/frames.py) is
    ``rendered``: its task verifies it when it ends."""
    if row["state"] == "rendering" and row["outputs"] and all(path in stored for path in row["outputs"]):
        return {**row, "state": "rendered"}
    missing = [path for path in row["outputs"] if path not in stored] if row["state"] == "verified" else []
    return {**row, "state": "missing", "missing": missing} if missing else row


_read: dict[tuple[str, str], dict] = {}  # content never changes under its key: a host panel polling reads it once


def read_expected(key: str, store_url: str) -> dict:
    """The ``outputs.json`` at content key ``key`` of the store at ``store_url``, checked against
    the hash its key names and its format; ValueError (one line) when it is not one."""
    if (key, store_url) not in _read:
        _read[key, store_url] = _fetch_expected(key, store_url)
    return _read[key, store_url]


def _fetch_expected(key: str, store_url: str) -> dict:
    from azrender.sync.content import digest_of
    from azrender.sync.hashing import hash_bytes
    from azrender.sync.stores import open_store

    digest = digest_of(key)
    if digest is None:
        raise ValueError("the job's metadata names no content key")
    store = open_store(store_url)
    if store.stat(key) is None:
        raise ValueError(f"{store.display_url} has no {key}")
    data = store.read_bytes(key)
    if hash_bytes(data) != digest:
        raise ValueError(f"{key} in {store.display_url} does not match its hash")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError("not JSON") from None
    if not _well_formed(doc):
        raise ValueError("not an outputs.json of version 1")
    return doc


def _well_formed(doc) -> bool:
    if not isinstance(doc, dict) or doc.get("version") != 1 or not isinstance(doc.get("tasks"), dict):
        return False
    for entry in doc["tasks"].values():
        if not isinstance(entry, dict) or not isinstance(entry.get("set"), str) or not isinstance(entry.get("frames"), dict):
            return False
        for frame, paths in entry["frames"].items():
            if not frame.lstrip("-").isdigit() or not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
                return False
    return True


def stored_outputs(job_id: str, store_url: str) -> set[str]:
    """The files under the job's output folder of the store at ``store_url``, relative to it."""
    from azrender import layout
    from azrender.sync.stores import open_store

    prefix = layout.job_key(job_id, "outputs") + "/"
    return {obj.key[len(prefix):] for obj in open_store(store_url).list(prefix)}


def _assets_url(settings) -> str:
    """Where submissions put the job's files (``plan_submission``): the profile's store, else the local one."""
    from azrender.backends.local.backend import default_store

    return settings.storage_url or default_store()


def _outputs_url(status, settings) -> str:
    from azrender.backends.local.backend import default_store
    from azrender.backends.outputs import outputs_url

    # a local job of a profile without a store wrote into this machine's own (plan_submission)
    return outputs_url(status.job_id, settings, default=default_store() if status.backend == "local" else None)


def _message(exc: Exception) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__
