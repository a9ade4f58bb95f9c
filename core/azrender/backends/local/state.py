"""What the local backend persists, where, and how: versioned JSON records under the backend's root,
written atomically (temp file + rename) so any process can read them at any time.

Root layout::

    pools/<pool>/pool.json                  PoolRecord (secrets scrubbed)
    pools/<pool>/private/pool.json          the pool exactly as created (0600; may hold keys/SAS)
    pools/<pool>/nodes/<node>/              AZ_BATCH_NODE_ROOT_DIR of each simulated node
    pools/<pool>/agent/<node>/node.json     NodeRecord: boot count, start task run; slot locks
    jobs/<job>/job.json                     JobState (secrets scrubbed)
    jobs/<job>/tasks/<task>.json            TaskRecord per task (secrets scrubbed)
    jobs/<job>/private/job.json, tasks/...  the job and tasks exactly as created (0600), deleted
                                            when the job completes
    jobs/<job>/runner.lock, job.lock        held by the job's runner / by any read-modify-write
    jobs/<job>/runner.log, runner.error     the runner's log (redacted); why it last failed

SAS-bearing URLs must reach the runner, which is a separate process that may be restarted and that
picks up tasks added later by other processes, so they cannot live in one process's memory: they
are kept only in the private files (directory 0700, files 0600, like the SDK's own request bodies)
and everything else is scrubbed with :mod:`azrender.redact`.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

from azrender.errors import JobError
from azrender.redact import MASK, redact_obj

VERSION = 1
_SECRET_FIELDS = {"accountKey", "sasKey", "password", "sshPrivateKey"}


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


def scrub(rest: dict) -> dict:
    """A REST body with every secret masked: key fields by name, SAS signatures by pattern."""
    def walk(obj):
        if isinstance(obj, dict):
            return {k: (MASK if k in _SECRET_FIELDS and v else walk(v)) for k, v in obj.items()}
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        return obj

    return redact_obj(walk(rest))


# ---- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """Batch's failureInfo: why a task (or a node's start/prep/release task) did not succeed."""

    code: str
    message: str
    category: str = "usererror"

    def to_rest(self) -> dict:
        return {"category": self.category, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Run:
    """One node-level execution: a start task, or a job's preparation or release task on a node."""

    boot: int
    state: str = "running"  # running | completed
    start_time: str = field(default_factory=now)
    end_time: str | None = None
    exit_code: int | None = None
    retry_count: int = 0
    failure: Failure | None = None

    @property
    def succeeded(self) -> bool:
        return self.state == "completed" and self.failure is None and self.exit_code == 0


@dataclass(frozen=True)
class TaskRecord:
    id: str
    spec: dict  # BatchTaskCreateOptions REST JSON, scrubbed
    creation_time: str = field(default_factory=now)
    state: str = "active"  # active | preparing | running | completed (BatchTaskState)
    node_id: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    exit_code: int | None = None
    retry_count: int = 0
    requeue_count: int = 0
    failure: Failure | None = None
    pgid: int | None = None  # process group of the running attempt
    pgid_identity: str | None = None  # its leader's boot id and start time (identity.process_identity)

    @property
    def result(self) -> str | None:
        if self.state != "completed":
            return None
        return "success" if self.failure is None and self.exit_code == 0 else "failure"


@dataclass(frozen=True)
class JobState:
    id: str
    spec: dict  # BatchJobCreateOptions REST JSON, scrubbed
    pool_id: str
    creation_time: str = field(default_factory=now)
    state: str = "active"  # active | terminating | completed (BatchJobState)
    all_tasks_complete_mode: str = "noaction"
    end_time: str | None = None
    termination_reason: str | None = None
    preparation: dict[str, Run] = field(default_factory=dict)  # node id -> last run
    release: dict[str, Run] = field(default_factory=dict)
    quarantined: dict[str, str] = field(default_factory=dict)  # node id -> why it gets no more of its tasks


@dataclass(frozen=True)
class PoolRecord:
    id: str
    spec: dict  # BatchPoolCreateOptions REST JSON, scrubbed
    node_count: int
    task_slots: int = 1
    store_roots: dict[str, str] = field(default_factory=dict)  # mount source -> local folder
    implicit: bool = False


@dataclass(frozen=True)
class NodeRecord:
    id: str
    boot: int = 0  # incremented by each (simulated) reboot
    start_task: Run | None = None
    fault: str | None = None  # injected by tests: "fail" makes every task on the node fail
    fresh: bool = False  # preempted: it comes back as a new VM (empty disk) at its next bring-up


_NESTED = {"failure": Failure, "start_task": Run}
_PLAIN = {"str": str, "int": int, "bool": bool, "dict": dict}


def _check(owner: str, name: str, value, annotation: str) -> None:
    """A field's JSON value has the type its annotation names (records are read from disk that
    anyone may have edited; a wrong type must fail here, not deep inside the runner)."""
    base, optional = annotation.removesuffix(" | None"), annotation.endswith(" | None")
    if value is None:
        ok = optional
    elif base.startswith("dict["):
        ok = isinstance(value, dict)
    else:
        expected = _PLAIN.get(base)
        ok = expected is None or (isinstance(value, expected) and not (expected is int and isinstance(value, bool)))
    if not ok:
        raise ValueError(f"{owner}.{name} is {type(value).__name__}, expected {annotation}")


def _build(cls, data):
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__} must be an object")
    annotations = {f.name: f.type for f in fields(cls)}
    kwargs = {}
    for name, value in data.items():
        if name not in annotations:
            raise ValueError(f"unknown field {name!r}")
        _check(cls.__name__, name, value, annotations[name])
        if name in _NESTED and value is not None:
            value = _build(_NESTED[name], value)
        elif name in ("preparation", "release"):
            value = {str(node): _build(Run, run) for node, run in value.items()}
        kwargs[name] = value
    return cls(**kwargs)


_KINDS = {"pool": PoolRecord, "node": NodeRecord, "job": JobState, "task": TaskRecord}


def save(path: Path, record, *, private: bool = False) -> None:
    kind = next(k for k, c in _KINDS.items() if isinstance(record, c))
    write_json(path, {"kind": kind, "version": VERSION, **asdict(record)}, private=private)


def load(path: Path, cls):
    """Read a record, refusing anything that is not a record of this kind and version."""
    kind = next(k for k, c in _KINDS.items() if c is cls)
    data = read_json(path)
    if not isinstance(data, dict) or data.get("kind") != kind or data.get("version") != VERSION:
        raise JobError(f"{path}: not a local-backend {kind} record of version {VERSION}")
    body = {k: v for k, v in data.items() if k not in ("kind", "version")}
    try:
        return _build(cls, body)
    except (TypeError, AttributeError, ValueError) as exc:
        raise JobError(f"{path}: malformed {kind} record ({exc})") from None


def load_model(path: Path, model_cls):
    """Rebuild an SDK model (e.g. BatchTaskCreateOptions) from its REST JSON in a private file."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise JobError(f"{path}: not a {model_cls.__name__} (REST JSON object expected)")
    try:
        return model_cls(data)
    except (TypeError, AttributeError, ValueError) as exc:
        raise JobError(f"{path}: not a valid {model_cls.__name__} ({exc})") from None


def write_json(path: Path, data, *, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if private:
        os.chmod(path.parent, 0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)  # no fsync: readers never see a partial file, and after a
            # power cut a runner requeues whatever a stale record says was running
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise JobError(f"{path}: unreadable state file ({exc})") from None




class Root:
    """Every path under the backend's root folder (see the module docstring)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def pool_dir(self, pool_id: str) -> Path:
        return self.root / "pools" / pool_id.lower()

    def pool_file(self, pool_id: str) -> Path:
        return self.pool_dir(pool_id) / "pool.json"

    def pool_private(self, pool_id: str) -> Path:
        return self.pool_dir(pool_id) / "private" / "pool.json"

    def node_root(self, pool_id: str, node_id: str) -> Path:
        return self.pool_dir(pool_id) / "nodes" / node_id

    def agent_dir(self, pool_id: str, node_id: str) -> Path:
        return self.pool_dir(pool_id) / "agent" / node_id

    def node_file(self, pool_id: str, node_id: str) -> Path:
        return self.agent_dir(pool_id, node_id) / "node.json"

    def job_dir(self, job_id: str) -> Path:
        return self.root / "jobs" / job_id.lower()

    def job_file(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "job.json"

    def job_private(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "private" / "job.json"

    def tasks_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "tasks"

    def task_file(self, job_id: str, task_id: str) -> Path:
        return self.tasks_dir(job_id) / f"{task_id.lower()}.json"

    def task_private(self, job_id: str, task_id: str) -> Path:
        return self.job_dir(job_id) / "private" / "tasks" / f"{task_id.lower()}.json"

    def job_lock(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "job.lock"

    def runner_lock(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "runner.lock"

    def runner_log(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "runner.log"

    def runner_error(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "runner.error"
