"""``prep``: the job preparation task. Brings the node's asset cache up to the submission's
manifest, idempotently: files already cached at the manifest's hash are kept, only the others are
downloaded (to a temporary name, then renamed), and when the disk (or ``--cache-limit``) is short
the least recently used files that no running job needs are evicted first. If that is still not
enough, it fails before downloading anything, saying how much is missing.

In blobfuse mode (``--mount``) it mounts the container instead (see ``mount.py``).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from . import cache, mount, store

MANIFEST_VERSION = 1
TEMP_SUFFIX = ".azrtmp-"  # + the pid: a cached file while it downloads
TEMP_SUFFIX_MAX_BYTES = len(TEMP_SUFFIX) + 7  # Linux pids reach 4194304
JOB_DIR = "jobs"  # <root>/jobs/<job id>/: this job's own files on the node (removed by release)
EXIT_NO_SPACE = 3
EXIT_STORE = 4
EXIT_BAD_MANIFEST = 5


@dataclass(frozen=True)
class Entry:
    key: str  # store key, e.g. assets/proj/tex/wood.png
    size: int
    digest: str


@dataclass(frozen=True)
class Plan:
    entries: tuple[Entry, ...]
    downloads: tuple[Entry, ...]
    evictions: tuple[str, ...]
    need_bytes: int
    available_bytes: int  # before evictions


class NoSpace(Exception):
    pass


def register(parser) -> None:
    parser.add_argument("--store", required=True, help="store URL (container[/prefix] or file:///dir), no SAS")
    parser.add_argument("--manifest", help="the submission's manifest file (a resource file); copy mode")
    parser.add_argument("--job", required=True, help="job id (pins the files this job needs)")
    parser.add_argument("--access", help="JSON file with the store's read SAS (a resource file)")
    parser.add_argument("--identity", help="managed identity resource id to read the store with")
    parser.add_argument("--root", default=None, help="cache root (default $AZ_BATCH_NODE_SHARED_DIR/azrender)")
    parser.add_argument("--reserve", type=int, default=2 << 30, help="free bytes to leave on the disk")
    parser.add_argument("--cache-limit", type=int, default=None, help="at most this many bytes of cached assets")
    parser.add_argument("--parallel", type=int, default=8)
    mount.register(parser)
    parser.add_argument("--mounted", action="store_true", help="assets come from a pool mount: only set up the job")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def manifest_entries(doc: dict) -> tuple[Entry, ...]:
    """Entries of a submission manifest (azrender.sync.manifest, version 1):
    ``{"version": 1, "entries": [{"key": "assets/<alias>/<path>", "size": N, "mtime_ns": T, "hash": H}]}``."""
    if not isinstance(doc, dict) or doc.get("version") != MANIFEST_VERSION:
        raise ValueError(f"unsupported manifest version {doc.get('version') if isinstance(doc, dict) else None!r}")
    return tuple(Entry(str(e["key"]), int(e["size"]), str(e["hash"])) for e in doc["entries"])


def plan(root: str, entries: tuple[Entry, ...], state: dict, *, job: str, free_bytes: int,
         reserve: int, cache_limit: int | None) -> Plan:
    """Decide downloads and evictions, touching nothing. Raises NoSpace when eviction cannot help."""
    files = state["files"]
    downloads = tuple(e for e in entries if not cache.is_current(root, e.key, files.get(e.key), e.digest, e.size))
    # Replacing a cached file frees its old bytes.
    need = sum(e.size - files.get(e.key, {}).get("size", 0) for e in downloads)
    available = free_bytes - reserve
    if cache_limit is not None:
        available = min(available, cache_limit - sum(r.get("size", 0) for r in files.values()))
    if need <= available:
        return Plan(entries, downloads, (), need, available)
    wanted = {e.key for e in entries}
    pinned = {k for other, keys in state["pins"].items() if other != job for k in keys}
    candidates = sorted((r.get("last_used", 0), k) for k, r in files.items() if k not in wanted and k not in pinned)
    evictions, freed = [], 0
    for _, key in candidates:
        if need <= available + freed:
            break
        evictions.append(key)
        freed += files[key].get("size", 0)
    if need > available + freed:
        raise NoSpace(f"not enough space on this node for the job's assets: {_mb(need)} to download, "
                      f"{_mb(max(available + freed, 0))} available after evicting {len(evictions)} cached file(s)"
                      f" (reserve {_mb(reserve)}" + (f", cache limit {_mb(cache_limit)})" if cache_limit is not None else ")"))
    return Plan(entries, downloads, tuple(evictions), need, available)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _download(source, root: str, entry: Entry) -> int:
    path = cache.local_path(root, entry.key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}{TEMP_SUFFIX}{os.getpid()}"
    for stale in glob.glob(f"{glob.escape(path)}{TEMP_SUFFIX}*"):  # a killed earlier prep's (we hold the cache lock)
        os.remove(stale)
    try:
        got = source.download(entry.key, tmp, size=entry.size, digest=entry.digest)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return got


def execute(p: Plan, source, root: str, state: dict, *, job: str, parallel: int) -> int:
    """Evict, download and record; returns the bytes downloaded. The state is saved even when a
    download fails, so what did arrive is not fetched again."""
    for key in p.evictions:
        try:
            os.remove(cache.local_path(root, key))
        except FileNotFoundError:
            pass
        del state["files"][key]
    now = time.time()
    downloaded = 0
    try:
        with ThreadPoolExecutor(max(1, parallel)) as pool:
            for entry, got in zip(p.downloads, pool.map(lambda e: _download(source, root, e), p.downloads)):
                st = os.stat(cache.local_path(root, entry.key))
                state["files"][entry.key] = {"hash": entry.digest, "size": entry.size, "mtime_ns": st.st_mtime_ns}
                downloaded += got
    finally:
        for entry in p.entries:
            if entry.key in state["files"]:
                state["files"][entry.key]["last_used"] = now
        state["pins"][job] = sorted(e.key for e in p.entries)
        cache.save_state(root, state)
    return downloaded


def default_root() -> str:
    shared = os.environ.get("AZ_BATCH_NODE_SHARED_DIR")
    if not shared:
        raise SystemExit("azrender prep: --root is required outside a Batch node (AZ_BATCH_NODE_SHARED_DIR is not set)")
    return os.path.join(shared, "azrender")


def read_access(path: str | None) -> str | None:
    """The SAS query string from the access file (a resource file, never a command-line argument)."""
    if not path:
        return None
    os.chmod(path, 0o600)  # the task folder is group-readable; the SAS is this task's alone
    with open(path, encoding="utf-8") as f:
        return json.load(f).get("sas") or None


def run(args) -> int:
    root = args.root or default_root()
    if args.mount:
        return mount.mount(args, root, sas=read_access(args.access))
    if args.mounted:
        with cache.locked(root):
            state = cache.load_state(root)
            state["pins"][args.job] = []
            cache.save_state(root, state)
        os.makedirs(os.path.join(root, JOB_DIR, args.job), exist_ok=True)
        print(f"azrender prep: {args.job} reads its assets from the pool's mount")
        return 0
    if not args.manifest:
        print("azrender prep: --manifest is required (or --mount / --mounted)", file=sys.stderr)
        return 2
    try:
        with open(args.manifest, encoding="utf-8") as f:
            entries = manifest_entries(json.load(f))
        for entry in entries:
            cache.local_path(root, entry.key)
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        print(f"azrender prep: bad manifest {args.manifest}: {exc}", file=sys.stderr)
        return EXIT_BAD_MANIFEST
    started = time.time()
    with cache.locked(root):
        state = cache.load_state(root)
        try:
            p = plan(root, entries, state, job=args.job, free_bytes=shutil.disk_usage(root).free,
                     reserve=args.reserve, cache_limit=args.cache_limit)
        except NoSpace as exc:
            print(f"azrender prep: {exc}", file=sys.stderr)
            return EXIT_NO_SPACE
        source = store.open_store(args.store, sas=read_access(args.access), identity=args.identity)
        try:
            downloaded = execute(p, source, root, state, job=args.job, parallel=args.parallel)
        except store.StoreError as exc:
            print(f"azrender prep: {exc}", file=sys.stderr)
            return EXIT_STORE
        except OSError as exc:  # writing the cache: e.g. the disk filled after the plan said it fits
            print(f"azrender prep: cannot write the node cache {root}: {exc.strerror or exc}; what arrived is kept",
                  file=sys.stderr)
            return EXIT_NO_SPACE if exc.errno in store.DISK_FULL_ERRNOS else EXIT_STORE
    job_dir = os.path.join(root, JOB_DIR, args.job)
    os.makedirs(job_dir, exist_ok=True)
    shutil.copyfile(args.manifest, os.path.join(job_dir, "manifest.json"))
    summary = {"files": len(p.entries), "downloaded": len(p.downloads), "bytes_downloaded": downloaded,
               "evicted": len(p.evictions), "seconds": round(time.time() - started, 3)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"azrender prep: {summary['files']} files needed, {summary['downloaded']} downloaded "
              f"({_mb(downloaded)}), {len(p.evictions)} evicted, in {summary['seconds']} s")
    return 0
