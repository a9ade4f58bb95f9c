"""``azrender migrate``: move a store written by earlier azrender (the keyed layout: bytes at
``<folder>/<path>`` with version 1 manifests, submissions' files at ``assets/...``) into the
content-addressed layout (:mod:`azrender.sync.content`), so nothing is uploaded twice afterwards.

Plan, then act. Every keyed object whose recorded hash matches its bytes is copied once to
``content/<hh>/<hash>`` (verified on the way), each version 1 head manifest is rewritten as version
2, and with ``delete_old`` the copied keyed objects are deleted. Objects with no recorded hash
(outputs, logs, anything azrender did not write) are left alone.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from azrender.errors import StoreError
from azrender.layout import ASSETS
from azrender.sync import content
from azrender.sync.manifest import Manifest
from azrender.sync.store import Store, StoredObject

HEAD_SUFFIX = ".manifest.json"


@dataclass(frozen=True)
class MigrationPlan:
    copy: tuple[StoredObject, ...]  # keyed objects whose content is not stored by hash yet (one per hash)
    heads: tuple[str, ...]  # version 1 head manifests to rewrite as version 2
    old: tuple[str, ...]  # keyed objects that are stored by hash once the copies are done

    @property
    def bytes(self) -> int:
        return sum(o.size for o in self.copy)


def plan_migration(listing, read) -> MigrationPlan:
    """From one listing of the whole store (``read`` fetches a manifest); touches nothing."""
    objects = list(listing)
    held = {content.digest_of(o.key) for o in objects if content.digest_of(o.key) == o.content_hash}
    keyed: dict[str, StoredObject] = {}
    heads = []
    by_key = {o.key: o for o in objects}
    for obj in objects:
        if "/" not in obj.key and obj.key.endswith(HEAD_SUFFIX):
            manifest = Manifest.from_bytes(read(obj.key), source=obj.key)
            if manifest.content_addressed:
                continue
            heads.append(obj.key)
            root = obj.key[:-len(HEAD_SUFFIX)]
            for e in manifest.entries:
                stored = by_key.get(f"{root}/{e.key}")
                if stored is not None and stored.content_hash == e.hash:
                    keyed[stored.key] = stored
    for obj in objects:  # earlier submissions' files, tagged with their hash
        if obj.key.startswith(f"{ASSETS}/") and obj.content_hash:
            keyed[obj.key] = obj
    copies, seen = [], set(held)
    for obj in keyed.values():
        if obj.content_hash not in seen:
            seen.add(obj.content_hash)
            copies.append(obj)
    return MigrationPlan(tuple(copies), tuple(sorted(heads)), tuple(sorted(keyed)))


def migrate(store: Store, plan: MigrationPlan, *, delete_old: bool = False) -> list[str]:
    """Carry ``plan`` out; returns "key: reason" for objects whose bytes did not match their hash
    (not copied, and not deleted)."""
    bad = []
    with tempfile.TemporaryDirectory(prefix="azrender-migrate-") as tmp:
        for obj in plan.copy:
            local = Path(tmp, "object")
            got = store.download_file(obj.key, local).content_hash
            if got != obj.content_hash:
                bad.append(f"{obj.key}: its bytes hash to {got}, not the recorded {obj.content_hash}")
                continue
            store.upload_file(local, content.content_key(got), got)
            local.unlink()
    for key in plan.heads:
        old = Manifest.from_bytes(store.read_bytes(key), source=key)
        store.write_bytes(key, Manifest.of(old.entries).to_bytes())  # the same paths and hashes, version 2
    if delete_old:
        failed = {reason.split(":", 1)[0] for reason in bad}
        for key in plan.old:
            if key not in failed:
                store.delete(key)
    if bad:
        raise StoreError("migrated all but: " + "; ".join(bad[:5]) + (f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""))
    return bad
