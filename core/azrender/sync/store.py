"""The one small interface every store implements (:class:`Store`) and what its calls return.
:func:`azrender.sync.stores.open_store` picks the implementation from a URL."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from azrender.sync import hashing

# progress(bytes_moved_since_last_call): called from worker threads as data moves.
ByteProgress = Callable[[int], None]


@dataclass(frozen=True)
class StoredObject:
    """One object in a listing. ``content_hash`` is ``None`` for objects azrender did not write
    (e.g. Batch output files), ``last_modified`` is timezone-aware UTC."""

    key: str
    size: int
    content_hash: str | None
    last_modified: datetime | None
    etag: str | None = None  # changes whenever the object is rewritten (where the store says)


@dataclass(frozen=True)
class Transfer:
    """What one upload or download moved: ``bytes_sent`` is less than ``size`` when a resumed
    upload reused blocks staged by an interrupted run."""

    key: str
    size: int
    content_hash: str
    bytes_sent: int


@dataclass(frozen=True)
class AccountInfo:
    kind: str  # StorageV2, Storage (general-purpose v1), BlobStorage, BlockBlobStorage, ...
    sku: str  # Standard_LRS, Premium_LRS, ...


class Store(abc.ABC):
    """A flat namespace of objects under a root; see the module docstring."""

    #: where this store is, safe to print (no SAS, no key)
    display_url: str
    #: this store's key prefix inside the location :meth:`node_access_url` returns ('' at the root)
    prefix: str

    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every object whose key starts with ``prefix``, with size and hash, from one paged listing."""

    @abc.abstractmethod
    def upload_file(self, path: Path, key: str, content_hash: str, progress: ByteProgress | None = None) -> Transfer:
        """Store the file at ``path`` as ``key``, tagged with ``content_hash``.

        The bytes are verified against ``content_hash`` while they are sent; when they differ (the
        file changed since it was hashed, or changes meanwhile) nothing becomes visible and
        :class:`azrender.sync.hashing.FileChangedError` is raised so the caller can re-hash.
        """

    def hash_and_upload(self, path: Path, key_of: Callable[[str], str | None],
                        progress: ByteProgress | None = None) -> tuple[str, hashing.FileState, Transfer | None]:
        """Hash ``path`` and, when ``key_of(hash)`` names a key, store the file there: ``(hash, the
        file's state while read, the transfer or None)``. :class:`~azrender.sync.hashing.FileChangedError`
        when it changed meanwhile. Stores that can send the very bytes they hashed read the file
        once; this default reads it twice (the upload verifies the hash)."""
        digest, state = hashing.hash_file(path)
        key = key_of(digest)
        return digest, state, self.upload_file(path, key, digest, progress) if key else None

    def list_up_to(self, prefix: str, limit: int) -> list[StoredObject] | None:
        """:meth:`list`, or None as soon as it holds more than ``limit`` objects (stores that page
        their listing stop asking there)."""
        found = []
        for obj in self.list(prefix):
            if len(found) == limit:
                return None
            found.append(obj)
        return found

    @abc.abstractmethod
    def download_file(self, key: str, dest: Path, progress: ByteProgress | None = None) -> Transfer:
        """Write object ``key`` to ``dest`` through a temporary name in the same folder, then
        rename; verified against the object's recorded hash when it has one."""

    @abc.abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The whole content of a (small) object; ``StoreError`` when it does not exist."""

    @abc.abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` as ``key`` (tagged with its hash), replacing any previous object."""

    def stat(self, key: str) -> StoredObject | None:
        """The object ``key`` (size, hash, time, etag), or ``None`` when it does not exist. Stores
        answer with one request; this default filters a listing."""
        return next((obj for obj in self.list(key) if obj.key == key), None)

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing object is not an error."""

    @abc.abstractmethod
    def child(self, prefix: str) -> "Store":
        """The same store rooted at ``prefix`` below this one (``assets``, ``jobs/<id>/outputs``)."""

    @abc.abstractmethod
    def node_access_url(self, permissions: str, expiry: datetime) -> str:
        """A URL a render node can use for this store's location (keys below :attr:`prefix`).

        Azure: a container SAS URL granting exactly ``permissions`` (``"rl"`` to read inputs,
        ``"cw"``/``"racw"`` to write outputs) until ``expiry``, signed with the account key or,
        with azure-identity, a user-delegation key (at most 7 days). When the store was opened
        with a SAS, that SAS is returned as given. Local folder: its ``file://`` URL. The URL is a
        secret (registered for redaction): put it in the job, never in a log.
        """

    @property
    def given_sas(self) -> str | None:
        """The SAS this store was opened with (which :meth:`node_access_url` passes on as given), or None."""
        return None

    def access_problem(self, operation: str) -> str | None:
        """Why this store's credential cannot ``upload`` or ``download``, when that can be told
        without a request (an expired or read-only SAS), else None."""
        return None

    def name_problem(self, key: str) -> str | None:
        """Why this store cannot hold an object named ``key``, or None (checked before any transfer)."""
        return None

    def describe_account(self) -> AccountInfo | None:
        """The storage account's kind and SKU, read once per account and machine; logs a warning
        for general-purpose v1 accounts. ``None`` where there is no account (a local folder) or
        the credential may not ask."""
        return None
