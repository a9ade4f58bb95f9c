"""The gate between a submitted job and the rest of its tasks.

A gated job is submitted with only some of its tasks (the scout tasks, or a first wave under a
budget) and stays open (``noaction``); the others wait in the watch record. :func:`advance` is one
idempotent step, called by ``submit --wait``, ``azrender agent``, ``status`` and the host panels:
it checks finished scouts, makes the estimate, adds tasks while the budget allows, holds the job
with a one-line reason when it must not go on, and notices the end (usage, notification).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from azrender.errors import JobError, UsageError
from azrender.watch import record as watch
from azrender.watch.record import DONE, HELD, RUNNING, SCOUTING, WatchRecord


@dataclass(frozen=True)
class GatePlan:
    """Which tasks go in at submission and which wait (decided before anything is sent)."""

    first: tuple[str, ...]
    held: tuple[str, ...]
    scout: tuple[str, ...]

    @property
    def gated(self) -> bool:
        return bool(self.held)


def plan_gate(tasks: dict[str, tuple[int, ...]], *, scout: str | None, budget: float | None, nodes: int) -> GatePlan:
    """``tasks``: id -> frames, in the job's order. Scouting sends the scout tasks first; a budget
    alone sends one wave (a task per node) and adds the next as the money allows."""
    from azrender.scout.select import scout_frames, scout_tasks

    if budget is not None and budget <= 0:
        raise UsageError(f"a budget must be more than 0, not {budget:g}")
    ids = tuple(tasks)
    if scout:
        frames = tuple(f for fs in tasks.values() for f in fs)
        first = tuple(scout_tasks(tasks, scout_frames(scout, frames)))
        return GatePlan(first, tuple(t for t in ids if t not in first), first)
    if budget is not None:
        wave = max(1, nodes)
        return GatePlan(ids[:wave], ids[wave:], ())
    return GatePlan(ids, (), ())


# ---- talking to the job's backend from any process -------------------------------------------


def open_client(job_id: str):
    """The backend client of a job this machine submitted (from its job record)."""
    from azrender import jobrecord

    job = jobrecord.load(job_id)
    if job is None:
        raise JobError(f"job {job_id} was not submitted from this machine")
    if job.backend == "local":
        from azrender.backends.local import LocalBatchClient, default_root

        return LocalBatchClient(Path(job.local_root) if job.local_root else default_root())
    from azrender.backends.batch import make_client
    from azrender.settings import batch_credential, load_settings

    settings = load_settings(job.profile).with_overrides(batch_url=job.batch_url)
    return make_client(settings.batch_url, batch_credential(settings))


def job_status(client, record: WatchRecord):
    if record.backend == "local":
        return client.status(record.job_id)
    from azrender.backends.batch import batch_status

    return batch_status(client, record.job_id)


def _add(client, record: WatchRecord, task_ids: list[str]) -> WatchRecord:
    from azure.batch import models as m

    bodies = watch.held_tasks(record.job_id)
    missing = [t for t in task_ids if t not in bodies]
    if missing:
        raise JobError(f"job {record.job_id}: the held task(s) {', '.join(missing[:3])} are no longer on this "
                       "machine; they cannot be released")
    try:
        client.create_tasks(record.job_id, [m.BatchTaskCreateOptions(bodies[t]) for t in task_ids])
    except m.CreateTasksError as exc:  # added already (a step cut short after sending): that is fine
        refused = [r for r in exc.failure_tasks if not (r.error and r.error.code == "TaskExists")]
        if refused or exc.pending_tasks:
            raise JobError(f"job {record.job_id}: {len(refused) or len(exc.pending_tasks)} held task(s) could not be "
                           f"added: {refused[0].error.code if refused and refused[0].error else 'not sent'}") from None
    held = tuple(t for t in record.held if t not in task_ids)
    if not held:  # every task is in: the job ends by itself once they are done
        client.update_job(record.job_id, m.BatchJobUpdateOptions(all_tasks_complete_mode="terminatejob"))
        watch.forget_held_tasks(record.job_id)
    return watch.save(replace(record, held=held))


# ---- the step ----------------------------------------------------------------------------------


def advance(job_id: str, *, client=None, status=None) -> WatchRecord | None:
    """One step of a watched job (None: not watched here). Safe from several processes at once
    (the agent, ``status``, a host panel): one step at a time per job."""
    if watch.load(job_id) is None:
        return None
    with _locked(job_id):
        return _advance(job_id, client, status)


def _locked(job_id: str):
    from azrender.backends.local.locks import locked

    return locked(watch.folder() / f"{job_id}.lock")


def _advance(job_id: str, client, status) -> WatchRecord | None:
    record = watch.load(job_id)
    if record is None or record.state == DONE:
        return record
    client = client or open_client(job_id)
    status = status or job_status(client, record)
    if record.state == SCOUTING:
        record = _after_scouts(client, record, status)
    if record.state == RUNNING and record.held:
        return _next_wave(client, record, status)  # the status predates the tasks just added
    if record.state == RUNNING and status.done and len(status.tasks) >= len(record.tasks):
        record = _finish(record, status)
    return record


def release(job_id: str, *, budget: float | None = None, no_budget: bool = False) -> WatchRecord:
    """``azrender release JOB``: the artist's go-ahead for a held (or still scouting) job."""
    record = watch.load(job_id)
    if record is None:
        raise JobError(f"azrender is not holding job {job_id} (submitted elsewhere, or without scout frames or a budget)")
    if not record.held:
        raise JobError(f"job {job_id} has no held tasks: every task was already released")
    if budget is not None and budget <= 0:
        raise UsageError(f"a budget must be more than 0, not {budget:g}")
    client = open_client(job_id)
    with _locked(job_id):
        record = watch.save(replace(watch.load(job_id), state=RUNNING, reason="",
                                    budget=None if no_budget else budget or record.budget))
        status = job_status(client, record)
        if record.budget is not None and (reason := _over_budget(record, status)):
            watch.save(replace(record, state=HELD, reason=reason))
            raise UsageError(f"job {job_id} is still held: {reason}",
                             hint=f"raise it: azrender release {job_id} --budget AMOUNT (or --no-budget)")
        return _advance(job_id, client, status)


def _prices():
    from azrender.cost.prices import load_prices

    return load_prices()


def measured(record: WatchRecord, status, output_bytes: int = 0):
    """Node time and frames of the tasks that succeeded so far."""
    from azrender.cost.estimate import Measured

    good = [t for t in status.tasks if t.state == "completed" and t.seconds is not None and t not in status.failed]
    return Measured(frames=record.frames_of(t.id for t in good), node_seconds=sum(t.seconds for t in good),
                    output_bytes=output_bytes)


def make_estimate(record: WatchRecord, status, output_bytes: int = 0):
    from azrender.cost.estimate import estimate

    done = measured(record, status, output_bytes)
    if done.frames == 0:
        return None
    return estimate(done, frames=record.frames_of(record.tasks), nodes=record.nodes, vm_size=record.vm_size,
                    node_os=record.node_os, prices=_prices(), upload_bytes=record.upload_bytes,
                    azure=record.backend != "local")


def spent(record: WatchRecord, status) -> float | None:
    """Compute cost so far: every task's node time, finished or running."""
    from azrender.cost.estimate import spent as cost

    seconds = sum(t.seconds or 0.0 for t in status.tasks)
    return cost(seconds, vm_size=record.vm_size, node_os=record.node_os, prices=_prices())


def _over_budget(record: WatchRecord, status) -> str:
    from azrender.cost.estimate import money

    so_far = spent(record, status)
    if so_far is None:
        return f"{record.vm_size} is not in the price table, so the budget cannot be kept"
    currency = _prices().currency
    if so_far >= record.budget:
        return (f"the budget of {money(record.budget, currency)} is spent ({money(so_far, currency)}); "
                f"{len(record.held)} task(s) not started")
    return ""


def _after_scouts(client, record: WatchRecord, status) -> WatchRecord:
    scouts = {t.id: t for t in status.tasks if t.id in record.scout}
    if len(scouts) < len(record.scout) or any(t.state != "completed" for t in scouts.values()):
        return record
    failed = [t for t in status.failed if t.id in scouts]
    if failed:
        task = failed[0]
        why = task.failure or f"exit code {task.exit_code}"
        tail = task.stderr_tail.strip().splitlines()[-1:] if task.stderr_tail else []
        return watch.save(replace(record, state=HELD, reason=f"scout task {task.id} failed ({why})"
                                  + (f": {tail[0]}" if tail else ""), findings=tuple(t.id for t in failed)))
    findings, output_bytes = check_scouts(record)
    estimate = make_estimate(record, status, output_bytes)
    record = replace(record, estimate=estimate.to_json() if estimate else None, findings=tuple(f.line() for f in findings))
    if findings:
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        return watch.save(replace(record, state=HELD, reason=f"scout check: {findings[0].line()}{more}"))
    if record.budget is not None and estimate is not None and estimate.total is not None and estimate.total > record.budget:
        from azrender.cost.estimate import money

        return watch.save(replace(record, state=HELD, reason=(
            f"the estimate ({money(estimate.total, estimate.currency)}) is over the budget "
            f"({money(record.budget, estimate.currency)})")))
    return watch.save(replace(record, state=RUNNING))


def scout_folder(job_id: str) -> Path:
    return watch.folder() / f"{job_id}.scout"


def check_scouts(record: WatchRecord):
    """Bring the scout tasks' frames and logs here and check them; (findings, output bytes)."""
    from azrender import jobrecord, layout
    from azrender.scout.checks import check_task
    from azrender.sync import engine
    from azrender.sync.stores import open_store

    job = jobrecord.load(record.job_id)
    store = open_store(job.store_url)
    dest = scout_folder(record.job_id)
    engine.download(store, dest, prefix=layout.job_key(record.job_id, "outputs"))
    outputs = [p for p in dest.rglob("*") if p.is_file()]
    findings = []
    for task_id in record.scout:
        frames = tuple(record.tasks[task_id])
        mine = [p for p in outputs if _renders(p.name, frames)]
        log = ""
        for name in ("stdout.txt", "stderr.txt"):
            try:
                log += store.read_bytes(layout.job_key(record.job_id, "logs", task_id, name)).decode("utf-8", "replace")
            except Exception:  # no log uploaded: the check of the frames still stands
                pass
        findings += check_task(task_id, frames, mine, log)
    return findings, sum(p.stat().st_size for p in outputs)


def _renders(name: str, frames: tuple[int, ...]) -> bool:
    import re

    return any(int(d) in frames for d in re.findall(r"\d+", name))


def _next_wave(client, record: WatchRecord, status) -> WatchRecord:
    if record.budget is None:
        return _add(client, record, list(record.held))
    reason = _over_budget(record, status)
    if reason:
        return watch.save(replace(record, state=HELD, reason=reason))
    waiting = sum(1 for t in status.tasks if t.state != "completed")
    room = record.nodes - waiting
    return _add(client, record, list(record.held[:room])) if room > 0 else record


def _finish(record: WatchRecord, status) -> WatchRecord:
    from azrender.cost.estimate import spent as cost

    seconds = sum(t.seconds or 0.0 for t in status.tasks)
    prices = _prices()
    usage = {"node_hours": seconds / 3600,
             "cost": cost(seconds, vm_size=record.vm_size, node_os=record.node_os, prices=prices),
             "currency": prices.currency, "prices": prices.label, "failed": len(status.failed),
             "tasks": len(status.tasks)}
    record = watch.save(replace(record, state=DONE, usage=usage))
    from azrender import notify

    notify.job_finished(record, status)
    return watch.save(replace(record, notified=True))


# ---- at submission -----------------------------------------------------------------------------


def task_frames(frames, chunk: int) -> dict[str, tuple[int, ...]]:
    """Task id -> frames, exactly as ``azrender.jobs.build.build_job`` chunks them."""
    from azrender.jobs.build import task_id
    from azrender.jobs.frames import chunk_frames

    return {task_id(run[0], run[-1]): tuple(run) for run in chunk_frames(sorted(set(frames)), chunk)}


@dataclass(frozen=True)
class JobGate:
    """The gate decided while planning a submission: its task split, and what the estimate needs."""

    split: GatePlan
    tasks: dict  # task id -> frames
    vm_size: str
    nodes: int
    budget: float | None

    def first_requests(self, requests):
        """The requests to send now: the first tasks, the job left open when more follow."""
        if not self.split.held:
            return requests
        first = set(self.split.first)
        return replace(requests, tasks=[t for t in requests.tasks if t.id in first], all_tasks_added=False)

    def record(self, requests, *, job_id: str, backend: str, node_os: str, upload_bytes: int,
               download_dir: str | None) -> WatchRecord:
        """The watch record of the job once submitted; keeps the held tasks' bodies privately."""
        held = [t.as_dict() for t in requests.tasks if t.id in set(self.split.held)]
        if held:
            watch.save_held_tasks(job_id, held)
        return watch.save(WatchRecord(
            job_id=job_id, backend=backend, tasks=self.tasks, held=self.split.held, scout=self.split.scout,
            state=SCOUTING if self.split.scout else RUNNING, vm_size=self.vm_size, node_os=node_os, nodes=self.nodes,
            budget=self.budget, upload_bytes=upload_bytes, download_dir=download_dir))


def plan_for(submission, requests, backend, *, scout: str | None, budget: float | None, dry_run: bool) -> JobGate:
    """The gate of a planned submission (nothing sent): which tasks go first, on what pool size."""
    tasks = task_frames(submission.frames, submission.request.chunk)
    vm_size, nodes = backend.pool_size(requests, dry_run=dry_run)
    return JobGate(plan_gate(tasks, scout=scout, budget=budget, nodes=nodes), tasks, vm_size, nodes, budget)
