"""``azrender gc``: delete stored content (``content/<hh>/<hash>``) that nothing needs any more.

Plan, then act. Kept: everything a folder's head manifest lists (what the folder is now), what a
submission's manifest lists while it is younger than the retention or its job is not finished, and
every object itself younger than the retention. The rest is deleted.

Safe while syncs and jobs run: gc announces itself first in ``gc.json`` (a generation counter, and
the running gc with an expiry in case it dies), then lists. A sync reads the generation before it
decides which content the store already holds, and again after writing its manifest: unchanged,
and the manifest was written before any later gc lists (so that gc keeps its content); changed, and
it waits for the gc to end, then checks every hash it listed is stored and uploads any that is not
(:func:`settle`). An object uploaded while gc runs is younger than the retention, or absent from
gc's listing: never deleted.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

from azrender.errors import StoreError, UsageError
from azrender.sync import content
from azrender.sync.manifest import Manifest
from azrender.sync.store import Store, StoredObject

log = logging.getLogger(__name__)

MARKER = "gc.json"
MARKER_LIFETIME = timedelta(hours=6)  # a gc that died leaves a marker syncs stop waiting for after this
HEAD_SUFFIX = ".manifest.json"
JOB_MANIFESTS = "manifests/"
POLL = 0.5


@dataclass(frozen=True)
class GcPlan:
    delete: tuple[StoredObject, ...]
    kept: int  # content objects kept
    manifests: int  # manifests that protect content

    @property
    def bytes(self) -> int:
        return sum(o.size for o in self.delete)


@dataclass(frozen=True)
class GcResult:
    plan: GcPlan
    deleted: int
    freed_bytes: int
    seconds: float

    def to_json(self) -> dict:
        return {"deleted": self.deleted, "freed_bytes": self.freed_bytes, "kept": self.plan.kept,
                "manifests": self.plan.manifests, "seconds": round(self.seconds, 3)}


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``45m``, ``10s`` (a bare number is days)."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    value = text.strip().lower()
    unit = value[-1] if value and value[-1] in units else "d"
    number = value[:-1] if value and value[-1] in units else value
    try:
        amount = float(number)
    except ValueError:
        raise UsageError(f"--older-than {text!r}: use a number with d, h, m or s (e.g. 30d)") from None
    if amount < 0:
        raise UsageError(f"--older-than {text!r}: cannot be negative")
    return timedelta(seconds=amount * units[unit])


def plan_gc(listing: Iterable[StoredObject], read: Callable[[str], bytes], *, now: datetime,
            older_than: timedelta, unfinished: Callable[[str], bool] = lambda job: False) -> GcPlan:
    """Decide what to delete from one listing of the whole store; ``read`` fetches a manifest.
    ``unfinished(job_id)`` says whether a job whose manifest is past retention still runs."""
    cutoff = now - older_than
    objects = list(listing)
    needed: set[str] = set()
    protecting = 0
    for obj in objects:
        is_head = "/" not in obj.key and obj.key.endswith(HEAD_SUFFIX)
        is_job = obj.key.startswith(JOB_MANIFESTS) and obj.key.endswith(".json") and obj.key.count("/") == 1
        if not (is_head or is_job):
            continue
        if is_job and obj.last_modified is not None and obj.last_modified < cutoff \
                and not unfinished(obj.key[len(JOB_MANIFESTS):-len(".json")]):
            continue
        try:
            manifest = Manifest.from_bytes(read(obj.key), source=obj.key)
        except StoreError as exc:  # unreadable: its content cannot be told apart, so keep everything
            raise StoreError(f"gc stopped before deleting anything: {exc.message}") from None
        if manifest.content_addressed:
            needed.update(e.hash for e in manifest.entries)
            protecting += 1
    doomed, kept = [], 0
    for obj in objects:
        digest = content.digest_of(obj.key)
        if digest is None:
            continue
        young = obj.last_modified is None or obj.last_modified >= cutoff
        if digest in needed or young:
            kept += 1
        else:
            doomed.append(obj)
    return GcPlan(tuple(doomed), kept, protecting)


def collect(store: Store, *, older_than: timedelta, dry_run: bool = False,
            unfinished: Callable[[str], bool] = lambda job: False, workers: int = 16) -> GcResult:
    """Run gc on ``store`` (see the module docstring); with ``dry_run`` only plan."""
    from concurrent.futures import ThreadPoolExecutor

    started = time.monotonic()
    token = None if dry_run else _announce(store)
    try:
        plan = plan_gc(store.list(""), store.read_bytes, now=datetime.now(timezone.utc), older_than=older_than,
                       unfinished=unfinished)
        if dry_run:
            return GcResult(plan, 0, 0, time.monotonic() - started)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda o: store.delete(o.key), plan.delete))
        return GcResult(plan, len(plan.delete), plan.bytes, time.monotonic() - started)
    finally:
        if token is not None:
            _withdraw(store, token)


def _state(store: Store) -> dict:
    """``gc.json``: how many gcs started here (``generation``) and the running one, if any."""
    try:
        doc = json.loads(store.read_bytes(MARKER))
    except StoreError:
        return {"version": 1, "generation": 0, "running": None}
    except ValueError:
        doc = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("generation"), int):
        return {"version": 1, "generation": 0, "running": None}
    return doc


def _running_until(state: dict) -> datetime | None:
    """When the running gc's announcement expires; None when no gc runs (or it died long ago)."""
    if not state.get("running"):
        return None
    try:
        expires = datetime.fromisoformat(state["expires"])
    except (KeyError, TypeError, ValueError):
        return None
    return expires if expires > datetime.now(timezone.utc) else None


def generation(store: Store) -> int:
    """Read before deciding which content the store already holds; hand to :func:`settle`."""
    return _state(store)["generation"]


def _announce(store: Store) -> str:
    state = _state(store)
    running = _running_until(state)
    if running is not None:
        raise StoreError(f"another azrender gc is running on {store.display_url} (until {running.isoformat()} "
                         "at the latest); run again later")
    token = secrets.token_hex(8)
    now = datetime.now(timezone.utc)
    store.write_bytes(MARKER, json.dumps({"version": 1, "generation": state["generation"] + 1, "running": token,
                                          "started": now.isoformat(),
                                          "expires": (now + MARKER_LIFETIME).isoformat()}).encode())
    return token


def _withdraw(store: Store, token: str) -> None:
    state = _state(store)
    if state.get("running") == token:
        store.write_bytes(MARKER, json.dumps({**state, "running": None}).encode())


def settle(store: Store, since: int, digests: Iterable[str], reupload: Callable[[set[str]], None]) -> None:
    """Call after writing a manifest that lists ``digests``, with the :func:`generation` read before
    deciding what the store held: when a gc started since, wait for it to end, then ``reupload``
    whatever of ``digests`` it deleted meanwhile."""
    state = _state(store)
    if state["generation"] == since and not state.get("running"):
        return
    log.info("an azrender gc ran on %s during this sync: checking what it kept", store.display_url)
    while _running_until(state) is not None:
        time.sleep(POLL)
        state = _state(store)
    wanted = set(digests)
    missing = wanted - content.present(store, wanted)
    if missing:
        log.info("%d file(s) were deleted by gc while this sync ran: uploading them again", len(missing))
        reupload(missing)
