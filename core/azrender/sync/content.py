"""Content-addressed storage: the bytes of every file are stored once, under the xxh3-128 hash of
those bytes, whichever scene, project or artist synced them::

    <store>/content/<first two hex digits>/<hash>      metadata azrender_xxh3 = <hash>

An object there is never rewritten with other bytes, so a manifest (a list of ``path -> hash``) pins
exactly what a job reads: a later sync or submission can add objects, never change one. Folders
synced with ``azrender sync`` get a head manifest ``<folder>.manifest.json`` (what the folder is
now); submissions get ``manifests/<job>.json``. ``azrender gc`` removes objects no manifest needs.

This module knows keys and which objects a store already holds; :mod:`azrender.sync.engine`
moves the bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

from azrender.layout import CONTENT, content_key  # noqa: F401  (the store's names; imported from here too)
from azrender.sync.store import Store, StoredObject

_DIGEST = re.compile(r"^[0-9a-f]{32}$")
# Up to this many unknown hashes are asked about one request each; more, and one listing of
# content/ is cheaper.
STAT_LIMIT = 512
# More than LIST_FIRST unknown hashes (fewer than STAT_LIMIT) still get one listing of content/
# when it holds at most LIST_PER_HASH objects per hash (a new or small store): one short page
# answers for all of them; a larger store says so in that page, and each hash is asked about.
LIST_FIRST = 32
LIST_PER_HASH = 4


def digest_of(key: str) -> str | None:
    """The hash a ``content/..`` key names, None for any other key."""
    parts = key.split("/")
    if len(parts) == 3 and parts[0] == CONTENT and _DIGEST.match(parts[2]) and parts[1] == parts[2][:2]:
        return parts[2]
    return None


def present(store: Store, digests: Iterable[str], *, known: Iterable[str] = (), workers: int = 16) -> set[str]:
    """Which of ``digests`` the store holds intact-looking (size aside, tagged with that very hash);
    ``known`` are taken as held without asking (e.g. listed by a manifest the store holds)."""
    wanted = set(digests)
    have = wanted & set(known)
    todo = sorted(wanted - have)
    if not todo:
        return have
    presence = Presence(store, expected=len(todo))
    with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
        have.update(d for d, ok in zip(todo, pool.map(presence.holds, todo)) if ok)
    return have


def _intact(obj: StoredObject | None, digest: str) -> bool:
    return obj is not None and obj.content_hash == digest  # a foreign or lying object is not


class Presence:
    """Whether the store holds a content object, asked hash by hash as hashes become known (also
    from worker threads): one listing of ``content/`` answers for all of them when ``expected``
    (how many will be asked about) exceeds :data:`STAT_LIMIT`, or :data:`LIST_FIRST` and the store
    holds at most :data:`LIST_PER_HASH` objects there per hash; otherwise one request per hash."""

    def __init__(self, store: Store, *, known: Iterable[str] = (), expected: int = 0):
        self._store = store
        self._have = set(known)
        self._lock = threading.Lock()
        listed = None
        if expected > STAT_LIMIT:
            listed = list(store.list(f"{CONTENT}/"))
        elif expected > LIST_FIRST:
            listed = store.list_up_to(f"{CONTENT}/", expected * LIST_PER_HASH)
        self._listed = listed is not None
        for obj in listed or ():
            digest = digest_of(obj.key)
            if digest and _intact(obj, digest):
                self._have.add(digest)

    def holds(self, digest: str) -> bool:
        with self._lock:
            if digest in self._have or self._listed:
                return digest in self._have
        if not _intact(self._store.stat(content_key(digest)), digest):
            return False
        with self._lock:
            self._have.add(digest)
        return True


# ---- what this machine last wrote (the no-change fast path) ---------------------------------


def _record_path(store: Store, key: str) -> str:
    from azrender.dirs import cache_dir

    name = hashlib.sha256(f"{store.display_url}\n{key}".encode()).hexdigest()[:32]
    return os.path.join(cache_dir(), "written", f"{name}.json")


def last_written(store: Store, key: str) -> dict | None:
    """``{"source", "etag"}``: what the manifest this machine last wrote at ``key`` in ``store``."""
    try:
        with open(_record_path(store, key), encoding="utf-8") as f:
            doc = json.load(f)
        return doc if isinstance(doc, dict) and doc.get("version") == 1 else None
    except (OSError, ValueError):
        return None


def remember_written(store: Store, key: str, digest: str, etag: str | None) -> None:
    if not etag:
        return
    path = _record_path(store, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"version": 1, "source": digest, "etag": etag}, f)
    os.replace(tmp, path)
