"""Moving files to and from a store, in parallel, only what differs.

Up: :func:`upload_content` stores each file's bytes once by hash (:mod:`azrender.sync.content`);
:func:`sync_folders` (``azrender sync``) does that for folders and writes each one's head manifest
``<folder>.manifest.json`` (:mod:`azrender.sync.manifest`); :func:`verify_folders` reads it all
back. Down: :func:`download` plans from one listing (:func:`plan_download`, no store I/O), then
fetches what is missing or different locally.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Iterable, Sequence

from azrender.errors import AzrenderError, StoreError, UsageError
from azrender.sync import content, hashing, keys
from azrender.sync.gc import generation as gc_generation
from azrender.sync.manifest import Manifest, ManifestEntry
from azrender.sync.partial import remove_orphaned_partials
from azrender.sync.store import Store, StoredObject, Transfer

log = logging.getLogger(__name__)

ROOT_MANIFEST_SUFFIX = ".manifest.json"
DEFAULT_WORKERS = 16
_NAMED_FAILURES = 5  # failures named in an error message; the rest are counted


@dataclass(frozen=True)
class LocalFile:
    path: Path
    key: str
    size: int
    mtime_ns: int
    content_hash: str


@dataclass(frozen=True)
class UploadPlan:
    upload: tuple[LocalFile, ...]  # new, or content differs from the stored object
    skip: tuple[LocalFile, ...]  # stored with the same content hash
    delete: tuple[str, ...]  # stored keys no entry has (only when deletion was asked for)

    @property
    def bytes_to_upload(self) -> int:
        return sum(f.size for f in self.upload)


@dataclass(frozen=True)
class SyncResult:
    files: int
    uploaded: int
    skipped: int
    bytes_uploaded: int  # bytes actually sent (blocks reused from an interrupted run not counted)
    seconds: float
    failed: tuple[str, ...] = ()  # "key: reason" for each file not uploaded
    deleted: int = 0
    manifest: Manifest | None = None  # every entry with the hash of what the store now holds

    def to_json(self) -> dict:
        return {"files": self.files, "uploaded": self.uploaded, "skipped": self.skipped,
                "bytes_uploaded": self.bytes_uploaded, "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class DownloadPlan:
    download: tuple[tuple[StoredObject, Path], ...]
    skip: tuple[StoredObject, ...]
    refused: tuple[str, ...]  # "key: reason" for names that could escape the destination

    @property
    def bytes_to_download(self) -> int:
        return sum(obj.size for obj, _ in self.download)


@dataclass(frozen=True)
class FetchResult:
    files: int
    downloaded: int
    skipped: int
    bytes_downloaded: int
    seconds: float
    failed: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"files": self.files, "downloaded": self.downloaded, "skipped": self.skipped,
                "bytes_downloaded": self.bytes_downloaded, "seconds": round(self.seconds, 3)}


class TransferError(StoreError):
    """Some transfers failed after retries; ``result`` says what was and was not moved,
    ``summary`` the same as the message without its advice (a caller may know better advice)."""

    def __init__(self, summary: str, result: SyncResult | FetchResult, **kw):
        super().__init__(f"{summary}. Run the same command again to finish: what is done is kept", **kw)
        self.summary, self.result = summary, result


class Interrupted(StoreError):
    """Ctrl-C stopped the transfers: queued ones were cancelled and in-flight ones abandoned as
    partial files (the next run sweeps them); the message says what was and was not moved."""

    exit_code = 130


class _Abandoned(Exception):
    """Raised inside a transfer (from its progress callback) once Ctrl-C was pressed."""


@dataclass(frozen=True)
class ProgressUpdate:
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int


Progress = Callable[[ProgressUpdate], None]


@dataclass
class _Meter:
    """Thread-safe counters feeding an optional progress callback."""

    progress: Progress | None
    files_total: int
    bytes_total: int
    files_done: int = 0
    bytes_done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def add_bytes(self, n: int) -> None:
        if self.cancelled.is_set():  # every transfer reports as data moves: it stops here
            raise _Abandoned()
        with self.lock:
            self.bytes_done += n
            self._report()

    def file_done(self) -> None:
        with self.lock:
            self.files_done += 1
            self._report()

    def skip(self, size: int) -> None:
        """A counted file turned out not to need moving."""
        with self.lock:
            self.files_total -= 1
            self.bytes_total -= size
            self._report()

    def _report(self) -> None:
        if self.progress:
            self.progress(ProgressUpdate(self.files_done, self.files_total, self.bytes_done, self.bytes_total))


def _transfer_all(items: Sequence, transfer: Callable, on_done: Callable, meter: _Meter, workers: int | None) -> bool:
    """``transfer(item)`` for every item, in parallel; ``on_done(item, result or exception)`` in
    this thread as each ends. False when Ctrl-C stopped it: queued transfers are cancelled and
    in-flight ones abandoned at their next block (never waited for)."""
    pool = ThreadPoolExecutor(max_workers=workers or DEFAULT_WORKERS)
    try:
        futures = {pool.submit(transfer, item): item for item in items}
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except (AzrenderError, OSError) as exc:
                outcome = exc
            on_done(futures[future], outcome)
    except KeyboardInterrupt:
        meter.cancelled.set()
        pool.shutdown(wait=False, cancel_futures=True)
        return False
    pool.shutdown()
    return True


def _interrupted(verb: str, ok: int, total: int, nbytes: int, unchanged: int) -> Interrupted:
    return Interrupted(f"interrupted: {verb} {ok} of {total} files ({nbytes} bytes) before Ctrl-C, "
                       f"{total - ok} not {verb}" + (f", {unchanged} already there" if unchanged else "")
                       + "; run the same command again to finish")


# ---- upload ------------------------------------------------------------------------------------


def _check_keys(entries: Sequence[tuple[Path | str, str]]) -> None:
    seen: dict[str, str] = {}
    for path, key in entries:
        reason = keys.unsafe_reason(key)
        if reason:
            raise UsageError(f"{path}: store key {key!r} is not usable ({reason})")
        if seen.setdefault(key, os.fspath(path)) != os.fspath(path):
            raise UsageError(f"{seen[key]} and {path} would both be stored as {key!r}")


def _hash_entries(entries: Sequence[tuple[Path | str, str]], cache: hashing.HashCache | None,
                  *, use_cache: bool = True) -> list[LocalFile]:
    _check_keys(entries)
    try:
        hashed = hashing.hash_files([p for p, _ in entries], cache=cache, use_cache=use_cache)
    except FileNotFoundError as exc:
        raise UsageError(f"{exc.filename}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{exc.filename}: cannot read ({exc.strerror})") from None
    return [LocalFile(h.path, key, h.size, h.mtime_ns, h.content_hash) for h, (_, key) in zip(hashed, entries)]


def _root(key: str) -> str | None:
    return key.split("/", 1)[0] if "/" in key else None


def _refuse_access(store: Store, operation: str) -> None:
    if problem := store.access_problem(operation):
        raise UsageError(f"{store.display_url}: {problem}")


def _refuse_names(entries: Sequence[tuple[Path | str, str]], store: Store) -> None:
    """Before any transfer: one line per file the store cannot name."""
    _refuse_access(store, "upload")
    refused = [f"{path}: {reason}" for path, key in entries if (reason := store.name_problem(key))]
    if refused:
        more = [f"... and {len(refused) - _NAMED_FAILURES} more"] if len(refused) > _NAMED_FAILURES else []
        raise UsageError(f"{len(refused)} file(s) cannot be stored in {store.display_url}; nothing was sent:\n  "
                         + "\n  ".join(refused[:_NAMED_FAILURES] + more))


def _failure_message(verb: str, ok: int, total: int, nbytes: int, failed: Sequence[str]) -> str:
    named = "; ".join(sorted(failed)[:_NAMED_FAILURES])
    more = f" (and {len(failed) - _NAMED_FAILURES} more)" if len(failed) > _NAMED_FAILURES else ""
    return f"{verb} {ok} of {total} files ({nbytes} bytes); {len(failed)} not {verb}: {named}{more}"


# ---- download ----------------------------------------------------------------------------------


def plan_download(remote: Iterable[StoredObject], dest_dir: Path, *, prefix: str = "",
                  cache: hashing.HashCache | None = None) -> DownloadPlan:
    """Which objects of ``remote`` (keys starting with the folder ``prefix``) to write under
    ``dest_dir``: those missing or different locally. Compares content hashes; for objects with
    no hash (written by something else), size and modification time. Names that are absolute,
    drive-qualified, contain ``..``, NUL or backslashes are refused, never written. Reads local
    files only (through the hash cache)."""
    folder = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    candidates: list[tuple[StoredObject, Path]] = []
    refused: list[str] = []
    root = Path(dest_dir).resolve()
    for obj in remote:
        if not obj.key.startswith(folder):
            continue
        relative = obj.key[len(folder):]
        reason = keys.unsafe_reason(relative)
        if reason:
            refused.append(f"{obj.key!r}: {reason}")
            continue
        dest = keys.local_path(Path(dest_dir), relative)
        if not _inside(dest.parent, root):
            refused.append(f"{obj.key!r}: leaves the destination through a symbolic link")
            continue
        candidates.append((obj, dest))
    existing = [(obj, dest) for obj, dest in candidates if dest.is_file()]
    hashed = hashing.hash_files([dest for obj, dest in existing if obj.content_hash], cache=cache)
    local_hash = {h.path: h.content_hash for h in hashed}
    skip = set()
    for obj, dest in existing:
        if obj.content_hash:
            same = local_hash.get(dest) == obj.content_hash
        else:
            st = dest.stat()
            same = (st.st_size == obj.size and obj.last_modified is not None
                    and int(st.st_mtime) == int(obj.last_modified.timestamp()))
        if same:
            skip.add(obj.key)
    return DownloadPlan(tuple((o, d) for o, d in candidates if o.key not in skip),
                        tuple(o for o, _ in candidates if o.key in skip), tuple(refused))


def _inside(folder: Path, root: Path) -> bool:
    """Whether ``folder`` (which may not exist yet) resolves to ``root`` or below it."""
    return folder.resolve().is_relative_to(root)


def download(store: Store, dest_dir: Path | str, *, prefix: str = "", progress: Progress | None = None,
             workers: int | None = None, cache: hashing.HashCache | None = None) -> FetchResult:
    """Download every object under the folder ``prefix`` of ``store`` into ``dest_dir`` (keys
    relative to ``prefix``) unless an identical file is already there; each file is written
    to a temporary name and renamed, with the object's modification time.

    ``FetchResult.refused`` lists hostile names that were skipped (callers should report them);
    :class:`TransferError` names what was and was not downloaded when transfers fail.
    """
    started = time.monotonic()
    _refuse_access(store, "download")
    dest_dir = Path(dest_dir)
    folder = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    listed, sources = _content_folders(store, list(store.list(folder)), folder)
    plan = plan_download(listed, dest_dir, prefix=folder, cache=cache)
    for parent in {dest.parent for _, dest in plan.download}:  # what a killed download left behind
        remove_orphaned_partials(parent)
    meter = _Meter(progress, len(plan.download), plan.bytes_to_download)
    failed: list[str] = []
    received = 0
    cache = cache or hashing.default_cache()
    ok = 0

    def finished(item, outcome) -> None:
        nonlocal received, ok
        if isinstance(outcome, Exception):
            failed.append(f"{item[0].key}: {getattr(outcome, 'message', None) or getattr(outcome, 'strerror', None) or outcome}")
        else:
            received += outcome.bytes_sent
            ok += 1

    if not _transfer_all(plan.download, lambda item: _download_one(store, *item, meter, cache, sources.get(item[0].key)), finished, meter, workers):
        raise _interrupted("downloaded", ok, len(plan.download), received, len(plan.skip))
    downloaded = len(plan.download) - len(failed)
    result = FetchResult(len(plan.download) + len(plan.skip), downloaded, len(plan.skip), received,
                         time.monotonic() - started, tuple(sorted(failed)), plan.refused)
    if failed:
        raise TransferError(_failure_message("downloaded", downloaded, len(plan.download), received, failed), result)
    return result


def _content_folders(store: Store, listed: list[StoredObject],
                     folder: str) -> tuple[list[StoredObject], dict[str, str]]:
    """The listing as files: each folder a content-addressed head manifest describes (one directly in
    ``folder``, or ``folder``'s own) appears as its files, read from ``content/``; ``{file key: stored key}``."""
    from datetime import datetime, timezone

    heads = [(o.key, f"{o.key[:-len(ROOT_MANIFEST_SUFFIX)]}/", folder) for o in listed
             if "/" not in o.key[len(folder):] and o.key.endswith(ROOT_MANIFEST_SUFFIX)]
    if folder and store.stat(folder[:-1] + ROOT_MANIFEST_SUFFIX) is not None:  # the URL names a synced folder
        parent = folder[:-1].rpartition("/")[0]
        heads.append((folder[:-1] + ROOT_MANIFEST_SUFFIX, folder, f"{parent}/" if parent else ""))
    files: list[StoredObject] = []
    sources: dict[str, str] = {}
    for key, root, content_at in heads:
        try:
            head = Manifest.from_bytes(store.read_bytes(key), source=f"{store.display_url}/{key}")
        except StoreError as exc:
            log.warning("%s; skipped", exc.message)
            continue
        if not head.content_addressed:
            continue
        sources[key] = ""  # the head itself is not a file of the folder
        for e in head.entries:
            modified = datetime.fromtimestamp(e.mtime_ns / 1e9, tz=timezone.utc)
            files.append(StoredObject(root + e.key, e.size, e.hash, modified))
            sources[root + e.key] = content_at + content.content_key(e.hash)
    if not sources:
        return listed, sources
    stored_content = f"{folder}{content.CONTENT}/"
    rest = [o for o in listed if not o.key.startswith(stored_content) and sources.get(o.key) != ""]
    kept = {o.key for o in rest}
    return rest + [f for f in files if f.key not in kept], sources


def _download_one(store: Store, obj: StoredObject, dest: Path, meter: _Meter, cache: hashing.HashCache,
                  source: str | None = None) -> Transfer:
    transfer = store.download_file(source or obj.key, dest, progress=meter.add_bytes)
    if source and transfer.content_hash != obj.content_hash:  # the stored content is not what its name says
        dest.unlink(missing_ok=True)
        raise StoreError(f"{store.display_url}/{source} is corrupt (hash {transfer.content_hash}); "
                         "run 'azrender sync --verify' from a machine that has the file")
    if obj.last_modified is not None:
        stamp = int(obj.last_modified.timestamp() * 1e9)
        os.utime(dest, ns=(stamp, stamp))
    cache.put_many([(os.path.abspath(dest), hashing.FileState.of(os.stat(dest)), transfer.content_hash)])
    meter.file_done()
    return transfer


# ---- content-addressed upload (what submissions and `azrender sync` use) ------------------------


def _lookup_entries(entries: Sequence[tuple[Path | str, str]], cache: hashing.HashCache | None) -> list[LocalFile]:
    """Each entry with its cached hash, ``""`` where the cache does not know the file as it is now
    (:func:`upload_content` hashes those as it sends them). Reads no file."""
    _check_keys(entries)
    try:
        found = hashing.known_hashes([p for p, _ in entries], cache=cache)
    except FileNotFoundError as exc:
        raise UsageError(f"{exc.filename}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{exc.filename}: cannot read ({exc.strerror})") from None
    return [LocalFile(h.path, key, h.size, h.mtime_ns, h.content_hash) for h, (_, key) in zip(found, entries)]


class _ContentSender:
    """Sends files to ``content/``, each distinct content once, from worker threads. A file the
    hash cache knows is checked (``presence``) before it is read; any other is read once, hashed
    and, when new, sent from the very bytes hashed. Two files with one hash: the first claims it,
    the other rides on its upload (and is sent itself next round should that fail)."""

    def __init__(self, store: Store, presence: content.Presence, meter: _Meter):
        self.store, self.presence, self.meter = store, presence, meter
        self.lock = threading.Lock()
        self.claims: dict[str, str] = {}  # hash -> "pending" | "held" | "sent" | "failed"
        self.read: list[tuple[str, hashing.FileState, str]] = []  # (absolute path, state, hash) read here

    def _decide(self, digest: str, claimed: list[str]) -> tuple[str | None, str]:
        with self.lock:
            if digest in self.claims:
                return None, "rider"
            self.claims[digest] = "pending"
        claimed.append(digest)
        if self.presence.holds(digest):
            with self.lock:
                self.claims[digest] = "held"
            return None, "held"
        return content.content_key(digest), "sent"

    def send(self, f: LocalFile) -> tuple[str, LocalFile, Transfer | None]:
        """``(what happened, the file as read, transfer)``: held (the store had it), rider (another
        file claimed its hash), sent, or changed (it changed while read: the next round has it)."""
        claimed: list[str] = []
        status = ["sent"]

        def key_of(digest: str) -> str | None:
            key, status[0] = self._decide(digest, claimed)
            return key

        try:
            if f.content_hash:
                key = key_of(f.content_hash)
                transfer = self.store.upload_file(f.path, key, f.content_hash, progress=self.meter.add_bytes) \
                    if key else None
                done = f
            else:
                digest, state, transfer = self.store.hash_and_upload(f.path, key_of, progress=self.meter.add_bytes)
                done = LocalFile(f.path, f.key, state.size, state.mtime_ns, digest)
                with self.lock:
                    self.read.append((os.path.abspath(f.path), state, digest))
        except hashing.FileChangedError:
            self._release(claimed, "failed")
            log.info("%s changed while it was read; reading it again", f.path)
            return "changed", LocalFile(f.path, f.key, f.size, f.mtime_ns, ""), None
        except BaseException:
            self._release(claimed, "failed")
            raise
        if status[0] == "sent":
            self._release(claimed, "sent")
            self.meter.file_done()
        else:
            self.meter.skip(f.size)
        return status[0], done, transfer

    def _release(self, claimed: list[str], outcome: str) -> None:
        with self.lock:
            for digest in claimed:
                if self.claims.get(digest) == "pending":
                    self.claims[digest] = outcome


def upload_content(entries: Sequence[tuple[Path | str, str]], store: Store, *, progress: Progress | None = None,
                   workers: int | None = None, cache: hashing.HashCache | None = None,
                   known: Collection[str] = (), local: Sequence[LocalFile] | None = None) -> SyncResult:
    """Store the content of each ``(local path, key)`` once, at :func:`content.content_key` of its
    hash (identical files, here or synced by anyone before, are sent once or not at all).

    ``known``: hashes the caller knows the store holds (e.g. from a manifest it holds); the others
    are asked about (:class:`content.Presence`). ``local``: the entries already looked up
    (:func:`_lookup_entries`). Files the hash cache does not know are read once: hashed while
    read into memory and, when the store lacks them, sent from those bytes. The result's manifest
    (version 2) maps every ``key`` to the hash the store now holds for it. A file that changes while
    it is sent is read and sent again; :class:`TransferError` names what failed.
    """
    started = time.monotonic()
    started_ns = time.time_ns()
    cache = cache or hashing.default_cache()
    if local is None:
        _refuse_names(entries, store)
        local = _lookup_entries(entries, cache)
    pending = list(local)
    unknown = {f.content_hash for f in pending if f.content_hash} - set(known)
    meter = _Meter(progress, 0, 0)
    sender = _ContentSender(store, content.Presence(
        store, known=known, expected=len(unknown) + sum(1 for f in pending if not f.content_hash)), meter)
    final: dict[str, LocalFile] = {}
    failed: list[str] = []
    sent = uploaded = skipped = 0
    for _ in range(hashing.ATTEMPTS):
        with meter.lock:
            meter.files_total += len(pending)
            meter.bytes_total += sum(f.size for f in pending)
        again: list[LocalFile] = []
        riders: list[LocalFile] = []
        before = uploaded

        def finished(f: LocalFile, outcome) -> None:
            nonlocal sent, uploaded, skipped
            if isinstance(outcome, Exception):
                reason = getattr(outcome, "message", None) or getattr(outcome, "strerror", None) or outcome
                failed.append(f"{f.key}: {reason}")
                return
            status, done, transfer = outcome
            if status == "changed":
                again.append(done)
            elif status == "rider":
                riders.append(done)
            elif status == "held":
                final[done.key] = done
                skipped += 1
            else:
                final[done.key] = done
                uploaded += 1
                sent += transfer.bytes_sent if transfer else 0

        if not _transfer_all(pending, sender.send, finished, meter, workers):
            raise _interrupted("uploaded", uploaded, before + len(pending), sent, skipped)
        for f in riders:  # stored by the file that claimed the hash, unless that one failed
            claim = sender.claims.get(f.content_hash)
            if claim in ("held", "sent"):
                final[f.key] = f
                uploaded, skipped = (uploaded + 1, skipped) if claim == "sent" else (uploaded, skipped + 1)
            else:
                sender.claims.pop(f.content_hash, None)
                again.append(f)
        pending = again
        if not pending:
            break
    failed.extend(f"{f.key}: the file kept changing while it was uploaded; run again once it is saved"
                  for f in pending)
    hashing.remember(cache, sender.read, started_ns)
    store.describe_account()

    manifest = Manifest.of(ManifestEntry(f.key, f.size, f.mtime_ns, f.content_hash) for f in final.values())
    result = SyncResult(len(final) + len(failed), uploaded, skipped, sent, time.monotonic() - started,
                        tuple(sorted(failed)), 0, manifest)
    if failed:
        raise TransferError(_failure_message("uploaded", uploaded, uploaded + len(failed), sent, failed), result)
    return result


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    repaired: tuple[str, ...]  # keys whose stored content was missing or wrong and was uploaded again
    unrepairable: tuple[str, ...]  # "key: reason" where no local file has the manifest's bytes


def sync_folders(entries: Sequence[tuple[Path | str, str]], store: Store, *, folders: Collection[str] = (),
                 delete: bool = False, progress: Progress | None = None, workers: int | None = None,
                 cache: hashing.HashCache | None = None) -> SyncResult:
    """``azrender sync``: each root (first key segment) gets its content stored by hash and a head
    manifest ``<root>.manifest.json`` (keys relative to the root). Files a root's head lists that
    are not among ``entries`` stay listed, unless the root is in ``folders`` (synced whole) and
    ``delete`` is set.

    When a root's files hash exactly as when this machine last wrote its head, and the head is
    still the one it wrote (one conditional request on its ETag), nothing else is asked.
    """
    started = time.monotonic()
    _refuse_names(entries, store)
    cache = cache or hashing.default_cache()
    by_root: dict[str, list[LocalFile]] = {}
    for f in _lookup_entries(entries, cache):
        by_root.setdefault(_root(f.key) or "", []).append(f)
    if "" in by_root:
        raise UsageError(f"{by_root[''][0].path}: a synced file needs a folder to be stored under")
    plans: dict[str, str] = {}
    for root, files in sorted(by_root.items()):
        head = f"{root}{ROOT_MANIFEST_SUFFIX}"
        record = content.last_written(store, head)
        if record:  # this machine wrote the head: all hashes first, the files may be as they were
            files = by_root[root] = _hash_entries([(f.path, f.key) for f in files], cache)
            if record.get("source") == _head_source(root, files, delete and root in folders):
                stored = store.stat(head)
                if stored is not None and stored.etag == record.get("etag"):
                    continue  # nothing changed here, nobody wrote the head since
        plans[root] = head

    since = gc_generation(store) if plans else 0
    heads = {root: _read_head(store, head) for root, head in plans.items()}
    todo = [f for root in plans for f in by_root[root]]
    known = {e.hash for m in heads.values() if m is not None and m.content_addressed for e in m.entries}
    synced = upload_content([(f.path, f.key) for f in todo], store, progress=progress, workers=workers,
                            cache=cache, known=known, local=todo)
    now_held = {e.key: e for e in synced.manifest.entries}
    dropped = 0
    for root, head in plans.items():
        held = [now_held[f.key] for f in by_root[root]]
        by_root[root] = [LocalFile(f.path, e.key, e.size, e.mtime_ns, e.hash) for f, e in zip(by_root[root], held)]
        entries_now = {e.key: e for e in heads[root].entries} if heads[root] and heads[root].content_addressed else {}
        if delete and root in folders:
            dropped += len(set(entries_now) - {e.key[len(root) + 1:] for e in held})
            entries_now = {}
        for e in held:
            entries_now[e.key[len(root) + 1:]] = ManifestEntry(e.key[len(root) + 1:], e.size, e.mtime_ns, e.hash)
        data = Manifest.of(entries_now.values()).to_bytes()
        if heads[root] is None or heads[root].to_bytes() != data:
            store.write_bytes(head, data)
        written = store.stat(head)
        content.remember_written(store, head, _head_source(root, by_root[root], delete and root in folders),
                                 written.etag if written else None)
    if plans:
        settle(store, [(f.path, f.key) for f in todo], synced.manifest, since)
    local = [f for files in by_root.values() for f in files]
    return SyncResult(len(local), synced.uploaded, len(local) - synced.uploaded, synced.bytes_uploaded,
                      time.monotonic() - started, (), dropped,
                      Manifest.of(ManifestEntry(f.key, f.size, f.mtime_ns, f.content_hash) for f in local))


def _head_source(root: str, files: Sequence[LocalFile], dropping: bool) -> str:
    """What a root's head was written from (the files as hashed, and whether others were dropped)."""
    mine = Manifest.of(ManifestEntry(f.key[len(root) + 1:], f.size, f.mtime_ns, f.content_hash) for f in files)
    return hashing.hash_bytes(mine.to_bytes() + (b"\0delete" if dropping else b""))


def _read_head(store: Store, key: str) -> Manifest | None:
    obj = store.stat(key)
    if obj is None:
        return None
    try:
        return Manifest.from_bytes(store.read_bytes(key), source=f"{store.display_url}/{key}")
    except StoreError as exc:  # unreadable or malformed: rewritten from this machine's files
        log.warning("%s; writing it again from the local files", exc.message)
        return None


def verify_folders(entries: Sequence[tuple[Path | str, str]], store: Store, *, workers: int | None = None,
                   cache: hashing.HashCache | None = None, progress: Progress | None = None) -> VerifyResult:
    """``azrender sync --verify``: read every object the heads of ``entries``' roots list and check
    its bytes hash to its name; upload a missing, truncated, corrupt or foreign one again from a
    local file with those bytes. Reads every listed byte once."""
    import tempfile

    local = _hash_entries(entries, cache)
    by_digest = {f.content_hash: f for f in local}
    wanted: dict[str, str] = {}  # digest -> a key naming it
    for root in sorted({_root(f.key) for f in local if _root(f.key)}):
        head = _read_head(store, f"{root}{ROOT_MANIFEST_SUFFIX}")
        for e in head.entries if head is not None and head.content_addressed else ():
            wanted.setdefault(e.hash, f"{root}/{e.key}")
    meter = _Meter(progress, len(wanted), 0)
    bad: list[str] = []

    def check(digest: str) -> bool:
        with tempfile.TemporaryDirectory(prefix="azrender-verify-") as tmp:
            try:
                got = store.download_file(content.content_key(digest), Path(tmp, "object")).content_hash
            except StoreError:
                got = None
        meter.file_done()
        return got == digest

    with ThreadPoolExecutor(max_workers=workers or 8) as pool:
        bad = [d for d, ok in zip(list(wanted), pool.map(check, list(wanted))) if not ok]
    repaired, unrepairable = [], []
    for digest in bad:
        f = by_digest.get(digest)
        if f is None:
            unrepairable.append(f"{wanted[digest]}: the stored copy is missing or corrupt and no local file has its bytes")
            continue
        store.upload_file(f.path, content.content_key(digest), digest)
        repaired.append(wanted[digest])
    return VerifyResult(len(wanted), tuple(sorted(repaired)), tuple(sorted(unrepairable)))


def preview_content(entries: Sequence[tuple[Path | str, str]], store: Store, *, folders: Collection[str] = (),
                    delete: bool = False, cache: hashing.HashCache | None = None) -> UploadPlan:
    """What :func:`sync_folders` would send (one file per missing content) and drop; changes nothing."""
    _refuse_names(entries, store)
    local = _hash_entries(entries, cache)
    roots = sorted({_root(f.key) for f in local if _root(f.key)})
    heads = {root: _read_head(store, f"{root}{ROOT_MANIFEST_SUFFIX}") for root in roots}
    known = {e.hash for m in heads.values() if m is not None and m.content_addressed for e in m.entries}
    have = content.present(store, {f.content_hash for f in local}, known=known)
    upload, skip, seen = [], [], set()
    for f in local:
        (skip if f.content_hash in have or f.content_hash in seen else upload).append(f)
        seen.add(f.content_hash)
    local_keys = {f.key for f in local}
    dropped = sorted(f"{root}/{e.key}" for root, m in heads.items() if delete and root in folders and m
                     and m.content_addressed for e in m.entries if f"{root}/{e.key}" not in local_keys)
    return UploadPlan(tuple(upload), tuple(skip), tuple(dropped))


def settle(store: Store, entries: Sequence[tuple[Path | str, str]], manifest: Manifest, since: int) -> None:
    """After writing a manifest listing ``entries``: when an ``azrender gc`` started since generation
    ``since`` (:func:`azrender.sync.gc.generation`, read before deciding what to upload), wait for it
    and upload again whatever of the manifest it deleted."""
    from azrender.sync import gc

    path_of = {key: path for path, key in entries}
    by_digest = {e.hash: path_of[e.key] for e in manifest.entries if e.key in path_of}

    def reupload(missing: set[str]) -> None:
        for digest in sorted(missing):
            store.upload_file(Path(by_digest[digest]), content.content_key(digest), digest)

    gc.settle(store, since, by_digest, reupload)
