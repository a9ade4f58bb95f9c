"""``prep``: the job preparation task. Builds this job's own view of its files on the node from the
submission's manifest (version 2: every file's bytes at ``content/<hh>/<hash>`` of the store), so
what the job reads is exactly what was submitted, whatever later syncs and jobs do:

- copy mode: content is downloaded once per node into ``<root>/content/<hh>/<hash>`` (a name that
  never gets other bytes), each download hashed; a corrupt, truncated or foreign one is reported,
  fetched again once, and then left out. When the disk (or ``--cache-limit``) is short, the least
  recently used content no running job needs is evicted first; if that is still not enough, it
  fails before downloading anything, saying how much is missing.
- mounted modes (``--mounted``, or ``--mount blobfuse`` which mounts first, see ``mount.py``): the
  content is read through the mount at ``--content-dir``; files up to ``--verify-max-bytes`` are
  hashed, larger ones checked by size.

The view, ``<working dir>/view/<key>`` for each manifest key, holds hard links into the node cache
(copy mode) or symbolic links into the mount, or copies where a link cannot be made (Windows
without the privilege, another volume). Relative paths between files are those of the artist's
folders. Files that did not arrive intact are listed in ``problems.json`` beside the view; the
pre-render check of every task (``check --problems``) fails with that reason.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from . import cache, digest, mount, store
from .manifest import Manifest, ManifestError

TEMP_SUFFIX = ".azrtmp-"  # + the pid: content while it downloads
TEMP_SUFFIX_MAX_BYTES = len(TEMP_SUFFIX) + 7  # Linux pids reach 4194304
JOB_DIR = "jobs"  # <root>/jobs/<job id>/: this job's own files on the node (removed by release)
VIEW_DIR = "view"  # in the preparation task's working directory: $AZ_BATCH_JOB_PREP_WORKING_DIR/view
PROBLEMS_FILE = "problems.json"
DEFAULT_VERIFY_MAX_BYTES = 256 << 20
EXIT_NO_SPACE = 3
EXIT_STORE = 4
EXIT_BAD_MANIFEST = 5


@dataclass(frozen=True)
class Entry:
    key: str  # the file's path in the view, e.g. assets/proj/tex/wood.png
    size: int
    digest: str


@dataclass(frozen=True)
class Plan:
    entries: tuple[Entry, ...]
    downloads: tuple[Entry, ...]  # one per missing content
    evictions: tuple[str, ...]  # digests
    need_bytes: int
    available_bytes: int  # before evictions


class NoSpace(Exception):
    pass


def register(parser) -> None:
    parser.add_argument("--store", required=True, help="store URL (container[/prefix] or file:///dir), no SAS")
    parser.add_argument("--manifest", help="the submission's manifest file (a resource file)")
    parser.add_argument("--job", required=True, help="job id (pins the content this job needs)")
    parser.add_argument("--identity", help="managed identity resource id to read the store with")
    parser.add_argument("--root", default=None, help="cache root (default $AZ_BATCH_NODE_SHARED_DIR/azrender)")
    parser.add_argument("--view", default=VIEW_DIR, help="where to build the job's view (default ./view)")
    parser.add_argument("--reserve", type=int, default=2 << 30, help="free bytes to leave on the disk")
    parser.add_argument("--cache-limit", type=int, default=None, help="at most this many bytes of cached content")
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--verify-max-bytes", type=int, default=DEFAULT_VERIFY_MAX_BYTES,
                        help="mounted modes: hash files up to this size before rendering (larger: size only)")
    mount.register(parser)
    parser.add_argument("--mounted", action="store_true", help="content comes from a pool mount at --content-dir")
    parser.add_argument("--content-dir", help="mounted modes: the folder where the store (its content/) is mounted")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def manifest_entries(data: bytes, source: str) -> tuple[Entry, ...]:
    """Entries of a submission manifest (:mod:`.manifest`, content-addressed: version 2)."""
    manifest = Manifest.from_bytes(data, source=source)
    if not manifest.content_addressed:
        raise ManifestError(f"{source}: a submission manifest is content-addressed (version 2), "
                            f"not version {manifest.version}")
    return tuple(Entry(e.key, e.size, e.hash) for e in manifest.entries)


def plan(root: str, entries: tuple[Entry, ...], state: dict, *, job: str, free_bytes: int,
         reserve: int, cache_limit: int | None) -> Plan:
    """Decide downloads and evictions, touching nothing. Raises NoSpace when eviction cannot help."""
    files = state["files"]
    unique = {e.digest: e for e in entries}
    downloads = tuple(e for d, e in unique.items()
                      if not cache.is_current(root, d, files.get(d), e.size, can_hash=digest.available()))
    need = sum(e.size - files.get(e.digest, {}).get("size", 0) for e in downloads)
    available = free_bytes - reserve
    if cache_limit is not None:
        available = min(available, cache_limit - sum(r.get("size", 0) for r in files.values()))
    if need <= available:
        return Plan(entries, downloads, (), need, available)
    pinned = {d for other, digests in state["pins"].items() if other != job for d in digests}
    candidates = sorted((r.get("last_used", 0), d) for d, r in files.items() if d not in unique and d not in pinned)
    evictions, freed = [], 0
    for _, d in candidates:
        if need <= available + freed:
            break
        evictions.append(d)
        freed += files[d].get("size", 0)
    if need > available + freed:
        raise NoSpace(f"not enough space on this node for the job's assets: {_mb(need)} to download, "
                      f"{_mb(max(available + freed, 0))} available after evicting {len(evictions)} cached file(s)"
                      f" (reserve {_mb(reserve)}" + (f", cache limit {_mb(cache_limit)})" if cache_limit is not None else ")"))
    return Plan(entries, downloads, tuple(evictions), need, available)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _bad(key: str, got: str, digest: str) -> str:
    return f"{key}: the stored copy is not the submitted file (corrupt, truncated or replaced: hash {got}, expected {digest})"


def _fetch(source, root: str, entry: Entry) -> tuple[int, str | None]:
    """Download ``entry``'s content into the cache, hashing what arrived; a bad copy is reported and
    fetched again once. ``(bytes received, None)`` or ``(bytes, the reason it is still bad)``."""
    path = cache.content_path(root, entry.digest)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    received, reason = 0, None
    for attempt in (1, 2):
        tmp = f"{path}{TEMP_SUFFIX}{os.getpid()}-{attempt}"
        try:
            received += source.download(cache.content_key(entry.digest), tmp, size=entry.size, digest=entry.digest)
            got = digest.hash_file(tmp)
            if got is None or got == entry.digest:
                os.replace(tmp, path)
                return received, None
            reason = _bad(entry.key, got, entry.digest)
        except store.Mismatch as exc:
            reason = f"{entry.key}: {exc}"
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        print(f"azrender prep: {reason}" + ("; fetching it again" if attempt == 1 else ""), file=sys.stderr)
    return received, reason


def execute(p: Plan, source, root: str, state: dict, *, job: str, parallel: int) -> tuple[int, dict[str, str]]:
    """Evict, download and record; returns the bytes downloaded and ``{digest: reason}`` for content
    that did not arrive intact. The state is saved even when a download fails, so what did arrive
    is not fetched again."""
    for d in p.evictions:
        try:
            os.remove(cache.content_path(root, d))
        except FileNotFoundError:
            pass
        del state["files"][d]
    for stale in p.downloads:  # a killed earlier prep's partial files (we hold the cache lock)
        folder = os.path.dirname(cache.content_path(root, stale.digest))
        for name in os.listdir(folder) if os.path.isdir(folder) else ():
            if name.startswith(f"{stale.digest}{TEMP_SUFFIX}"):
                os.remove(os.path.join(folder, name))
    now = time.time()
    downloaded, bad = 0, {}
    failure = None
    try:
        with ThreadPoolExecutor(max(1, parallel)) as pool:
            fetching = [(e, pool.submit(_fetch, source, root, e)) for e in p.downloads]
            for entry, future in fetching:
                try:
                    got, reason = future.result()
                except Exception as exc:  # the first failure is raised once every arrival is recorded
                    failure = failure or exc
                    continue
                downloaded += got
                if reason:
                    bad[entry.digest] = reason
                    continue
                st = os.stat(cache.content_path(root, entry.digest))
                state["files"][entry.digest] = {"size": entry.size, "mtime_ns": st.st_mtime_ns,
                                                "hashed": digest.available()}
    finally:
        for entry in p.entries:
            if entry.digest in state["files"]:
                state["files"][entry.digest]["last_used"] = now
        state["pins"][job] = sorted({e.digest for e in p.entries})
        cache.save_state(root, state)
    if failure is not None:
        raise failure
    return downloaded, bad


@dataclass
class MountCheck:
    """What checking mounted content found: ``bad`` is ``{digest: reason}``; ``verified`` the content
    files hashed intact now, ``{path: [size, mtime_ns]}``, for the node's verified cache."""

    bad: dict
    hashed: int = 0  # read through the mount and hashed now
    known: int = 0  # hashed intact by an earlier job on this node, unchanged since
    size_only: int = 0  # over the size cap, or this node cannot hash: checked by size alone
    verified: dict = None  # type: ignore[assignment]


def check_mounted(entries: tuple[Entry, ...], content_dir: str, max_bytes: int,
                  verified: dict | None = None) -> MountCheck:
    """Check mounted content: missing or of the wrong size is bad; up to ``max_bytes`` it must hash
    to its name (read twice before it is called bad), unless ``verified`` (the node's cache: content
    files hashed intact before, ``{path: [size, mtime_ns]}``) holds it as it is now. A stored object
    rewritten since gets a new mtime, so it is hashed again."""
    verified = verified or {}
    result = MountCheck({}, verified={})
    for entry in {e.digest: e for e in entries}.values():
        path = os.path.join(content_dir, *cache.content_key(entry.digest).split("/"))
        try:
            st = os.stat(path)
        except OSError:
            result.bad[entry.digest] = f"{entry.key}: not in the store (content {entry.digest} is missing)"
            continue
        if st.st_size != entry.size:
            result.bad[entry.digest] = f"{entry.key}: the stored copy has {st.st_size} bytes, the submitted file {entry.size}"
            continue
        if st.st_size > max_bytes or not digest.available():
            result.size_only += 1
            continue
        seen = [st.st_size, st.st_mtime_ns]
        if verified.get(path) == seen:
            result.known += 1
            continue
        for attempt in (1, 2):
            got = digest.hash_file(path)
            if got == entry.digest:
                result.bad.pop(entry.digest, None)
                result.hashed += 1
                result.verified[path] = seen
                break
            result.bad[entry.digest] = _bad(entry.key, got, entry.digest)
            print(f"azrender prep: {result.bad[entry.digest]}" + ("; reading it again" if attempt == 1 else ""),
                  file=sys.stderr)
    return result


def build_view(view: str, entries: tuple[Entry, ...], source_of, *, symlink: bool, bad: dict[str, str]) -> None:
    """``view/<key>`` for every entry whose content is intact: a link to ``source_of(digest)``
    (symbolic or hard), or a copy where no link can be made. Rebuilt from scratch each time."""
    if os.path.isdir(view):
        shutil.rmtree(view)
    for entry in entries:
        if entry.digest in bad:
            continue
        dest = cache.local_path(view, entry.key)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        src = source_of(entry.digest)
        try:
            os.symlink(src, dest) if symlink else os.link(src, dest)
        except OSError:  # no symlink privilege (Windows), another volume, a filesystem without links
            shutil.copyfile(src, dest)


def write_problems(path: str, entries: tuple[Entry, ...], bad: dict[str, str]) -> None:
    reasons = sorted({bad[e.digest] for e in entries if e.digest in bad})
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"version": 1, "problems": reasons}, f, indent=1)
    os.replace(tmp, path)


def default_root() -> str:
    shared = os.environ.get("AZ_BATCH_NODE_SHARED_DIR")
    if not shared:
        raise SystemExit("azrender prep: --root is required outside a Batch node (AZ_BATCH_NODE_SHARED_DIR is not set)")
    return os.path.join(shared, "azrender")


def read_sas() -> str | None:
    """The store's read SAS, from the environment Batch gave this task; taken out of it so that
    nothing this task starts inherits it."""
    return os.environ.pop(store.SAS_VARIABLE, None) or None


def _read_manifest(path: str, view: str) -> tuple[Entry, ...]:
    with open(path, "rb") as f:
        entries = manifest_entries(f.read(), path)
    for entry in entries:
        cache.local_path(view, entry.key)
    return entries


def run(args) -> int:
    root = args.root or default_root()
    mounted = bool(args.mount or args.mounted)
    if not args.manifest:
        print("azrender prep: --manifest is required", file=sys.stderr)
        return 2
    if mounted and not args.content_dir:
        print("azrender prep: --content-dir is required with --mounted / --mount", file=sys.stderr)
        return 2
    view = os.path.abspath(args.view)
    try:
        if os.path.isdir(view):  # a rerun (after a reboot) builds it again from the manifest
            shutil.rmtree(view)
        os.makedirs(view)
        entries = _read_manifest(args.manifest, view)
    except ManifestError as exc:  # names the manifest itself
        print(f"azrender prep: bad manifest {exc}", file=sys.stderr)
        return EXIT_BAD_MANIFEST
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        print(f"azrender prep: bad manifest {args.manifest}: {exc}", file=sys.stderr)
        return EXIT_BAD_MANIFEST
    if not digest.available():
        print(f"azrender prep: {digest.NO_HASHER}", file=sys.stderr)
    started = time.time()
    downloaded, evicted = 0, 0
    if args.mount:
        code = mount.mount(args, root, sas=read_sas())
        if code:
            return code
    hashed = known = size_only = 0
    if mounted:
        with cache.locked(root):
            state = cache.load_state(root)
            state["pins"][args.job] = []
            cache.save_state(root, state)
        content_dir = os.path.expandvars(args.content_dir)
        # hashed outside the lock (minutes for large files): other jobs' preparations go on
        checked = check_mounted(entries, content_dir, args.verify_max_bytes, state["verified"])
        if checked.verified:
            with cache.locked(root):
                state = cache.load_state(root)
                state["verified"].update(checked.verified)
                cache.save_state(root, state)
        bad, hashed, known, size_only = checked.bad, checked.hashed, checked.known, checked.size_only
        build_view(view, entries, lambda d: os.path.join(content_dir, *cache.content_key(d).split("/")),
                   symlink=True, bad=bad)
    else:
        with cache.locked(root):
            state = cache.load_state(root)
            try:
                p = plan(root, entries, state, job=args.job, free_bytes=shutil.disk_usage(root).free,
                         reserve=args.reserve, cache_limit=args.cache_limit)
            except NoSpace as exc:
                print(f"azrender prep: {exc}", file=sys.stderr)
                return EXIT_NO_SPACE
            source = store.open_store(args.store, sas=read_sas(), identity=args.identity)
            try:
                downloaded, bad = execute(p, source, root, state, job=args.job, parallel=args.parallel)
            except store.StoreError as exc:
                print(f"azrender prep: {exc}", file=sys.stderr)
                return EXIT_STORE
            except OSError as exc:  # writing the cache: e.g. the disk filled after the plan said it fits
                print(f"azrender prep: cannot write the node cache {root}: {exc.strerror or exc}; what arrived is kept",
                      file=sys.stderr)
                return EXIT_NO_SPACE if exc.errno in store.DISK_FULL_ERRNOS else EXIT_STORE
            # under the lock: no other job's preparation evicts what is being linked
            build_view(view, entries, lambda d: cache.content_path(root, d), symlink=False, bad=bad)
            evicted = len(p.evictions)
    write_problems(os.path.join(os.path.dirname(view), PROBLEMS_FILE), entries, bad)
    job_dir = os.path.join(root, JOB_DIR, args.job)
    os.makedirs(job_dir, exist_ok=True)
    shutil.copyfile(args.manifest, os.path.join(job_dir, "manifest.json"))
    if not mounted:  # content cached by a node that could not hash is still unchecked
        hashed = len(p.downloads) - len(bad) if digest.available() else 0
        size_only = sum(1 for d in {e.digest for e in entries} - set(bad)
                        if state["files"].get(d, {}).get("hashed") is False)
    # what was really checked: a node without xxhash never says it verified anything
    summary = {"files": len(entries), "downloaded": 0 if mounted else len(p.downloads) - len(bad),
               "bytes_downloaded": downloaded, "evicted": evicted, "bad": len(bad), "hashed": hashed,
               "verified_before": known, "size_only": size_only, "seconds": round(time.time() - started, 3)}
    if args.json:
        print(json.dumps(summary))
    else:
        where = "read through the mount" if mounted else f"{summary['downloaded']} downloaded ({_mb(downloaded)})"
        checks = [f"{hashed} hashed"] + ([f"{known} hashed before on this node"] if known else []) \
            + ([f"{size_only} checked by size only"] if size_only else [])
        print(f"azrender prep: {summary['files']} files in the job's view, {where} ({', '.join(checks)}), "
              f"{evicted} evicted" + (f", {len(bad)} not intact (the tasks will fail naming them)" if bad else "")
              + f", in {summary['seconds']} s")
    return 0
