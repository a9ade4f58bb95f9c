"""The manifest: exactly which files (key, size, mtime, content hash) an asset root or a submission
holds, so any later reader (a render node, another artist) knows what to fetch and can verify it.

Canonical JSON (sorted keys, no spaces, entries sorted by key, UTF-8): the same content always
gives the same bytes, so a manifest's own hash says whether it changed. ``version`` selects the
decoder; an unknown version is refused rather than half-read.

Version 2 (what azrender writes): the content of each entry is stored once, content-addressed, at
``content/<hh>/<hash>`` of the store the manifest is in (:mod:`azrender.sync.content`); ``key`` is
only the file's path (as the renderer will see it). Version 1 (older stores): ``key`` is where the
bytes themselves are stored. Both decode to the same record; ``version`` says how to find the bytes.

The one encoder and decoder, for the workstation and the render node alike: it lives in the node
tool (standard library only); :mod:`azrender.sync.manifest` gives it the workstation's error type.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Iterable

VERSION = 2  # what is written
LEGACY_VERSION = 1  # keyed layout, still read (and migrated by `azrender migrate`)
VERSIONS = (LEGACY_VERSION, VERSION)
_HASH = re.compile(r"^[0-9a-f]{32}$")  # xxh3-128, hex


class ManifestError(ValueError):
    """A manifest that is not valid JSON, has an unknown version or malformed entries."""


@dataclass(frozen=True)
class ManifestEntry:
    key: str  # store key, '/'-separated, relative to where the manifest applies
    size: int
    mtime_ns: int
    hash: str  # xxh3-128 hex of the content


@dataclass(frozen=True)
class Manifest:
    entries: tuple[ManifestEntry, ...]
    version: int = VERSION
    Error = ManifestError  # what decoding raises (the workstation's is also a StoreError)

    @classmethod
    def of(cls, entries: Iterable[ManifestEntry], version: int = VERSION) -> "Manifest":
        return cls(tuple(sorted(entries, key=lambda e: e.key)), version)

    @property
    def content_addressed(self) -> bool:
        return self.version >= VERSION

    def to_bytes(self) -> bytes:
        doc = {
            "version": self.version,
            "entries": [{"key": e.key, "size": e.size, "mtime_ns": e.mtime_ns, "hash": e.hash}
                        for e in sorted(self.entries, key=lambda e: e.key)],
        }
        try:
            return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # a name that is not UTF-8 (Latin-1 share): exact as \udcXX escapes
            return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = "manifest") -> "Manifest":
        """Decode ``data``; ``source`` (a key or path) names the manifest in the error message."""
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise cls.Error(f"{source}: not a valid manifest (not UTF-8 JSON: {exc})") from None
        if not isinstance(doc, dict) or "version" not in doc:
            raise cls.Error(f"{source}: not a valid manifest (no 'version' field)")
        if doc["version"] not in VERSIONS:
            raise cls.Error(f"{source}: manifest version {doc['version']!r} is not supported "
                            f"(this azrender reads versions {LEGACY_VERSION}-{VERSION}); upgrade azrender")
        entries = doc.get("entries")
        if not isinstance(entries, list):
            raise cls.Error(f"{source}: not a valid manifest ('entries' must be a list)")
        decoded = []
        for n, item in enumerate(entries):
            try:
                entry = ManifestEntry(item["key"], item["size"], item["mtime_ns"], item["hash"])
            except (KeyError, TypeError):
                raise cls.Error(f"{source}: entry {n} needs key, size, mtime_ns and hash") from None
            if not (isinstance(entry.key, str) and entry.key and isinstance(entry.hash, str)
                    and type(entry.size) is int and type(entry.mtime_ns) is int and entry.size >= 0):
                raise cls.Error(f"{source}: entry {n} has a malformed field")
            if not _HASH.match(entry.hash):
                raise cls.Error(f"{source}: entry {n} ({entry.key!r}) has a malformed hash {entry.hash!r}")
            decoded.append(entry)
        return cls.of(decoded, doc["version"])
