"""Where synced files live, behind one small interface: a local folder or an Azure Blob container.

:func:`open_store` turns a URL into a :class:`Store`:

- ``file:///dir[/prefix]`` (or a plain folder path): :class:`~.local_store.LocalStore`
- ``https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX][?SAS]``: Azure Blob storage
- ``http://127.0.0.1:PORT/devstoreaccount1/CONTAINER[/PREFIX]``: Azurite (path-style emulator URL)

Keys are '/'-separated and relative to the store's root (the URL's prefix). Every object carries
the xxh3-128 hash of its content (blob metadata :data:`azrender.layout.HASH_METADATA_KEY`), and a
write is never visible until it is complete and verified.
"""

from __future__ import annotations

import abc
import contextlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit

from azrender.errors import UsageError

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


def open_store(url: str, *, connection_string: str | None = None, credential=None) -> Store:
    """Open the store at ``url`` (see the module docstring for the URL forms).

    Azure credentials, first that applies: ``credential`` (an account key string, an
    ``AzureNamedKeyCredential`` or any azure-identity credential), ``connection_string``,
    ``AZURE_STORAGE_CONNECTION_STRING``, ``AZURE_STORAGE_KEY``, the SAS in the URL, else
    azure-identity ``DefaultAzureCredential``. Every secret is registered for redaction.
    Nothing is contacted until the first operation. ``UsageError`` for a malformed URL.
    """
    text = url.strip()
    if "\x00" in text:
        raise UsageError(f"{url!r}: a store URL cannot contain NUL")
    try:
        parts = urlsplit(text)
        parts.port  # parsed lazily: a malformed or out-of-range port fails here, not mid-transfer
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket, port 'x' or 99999
        raise UsageError(f"{url}: malformed store URL ({exc})") from None
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise UsageError(f"{url}: only local file:// URLs are supported (file:///path)")
        from azrender.sync.local_store import LocalStore

        return LocalStore(_file_url_path(parts.path))
    if parts.scheme in ("http", "https"):
        from azrender.sync.azure_store import AzureBlobStore

        return AzureBlobStore.open(text, connection_string=connection_string, credential=credential)
    if not parts.scheme or (len(parts.scheme) == 1 and text[1:2] == ":"):  # a plain path, C:\ included
        from azrender.sync.local_store import LocalStore

        return LocalStore(Path(os.path.expanduser(text)))  # an unknown ~user stays as typed
    raise UsageError(f"{url}: unsupported store URL (use file:///folder, https://ACCOUNT.blob.core.windows.net/"
                     "CONTAINER[/PREFIX] or an Azurite http://127.0.0.1:PORT/devstoreaccount1/CONTAINER URL)")


def _file_url_path(path: str) -> Path:
    from urllib.request import url2pathname

    local = url2pathname(path) if path else ""
    if not local:
        raise UsageError("file:// store URL has no folder (use file:///path/to/folder)")
    return Path(local)


PARTIAL_PREFIX = ".azrender-partial-"


def partial_path(dest: Path) -> Path:
    """A unique temporary name beside ``dest``: written first, renamed onto ``dest`` once complete
    and verified, so an interrupted transfer never leaves a file that looks complete."""
    import uuid

    unique = f"{PARTIAL_PREFIX}{uuid.uuid4().hex[:12]}"
    name = f"{unique}-{dest.name}"
    # the destination's name only helps a human; a name near the 255-byte limit must still fit
    return dest.with_name(name if len(os.fsencode(name)) <= 255 else unique)


try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
ORPHAN_AGE = 3600.0  # seconds: without locks (Windows), a partial file unchanged this long is a killed run's


def _open_locked_partial(dest: Path):
    """A new partial file for ``dest``, open for writing and (POSIX) locked, with its path."""
    while True:
        tmp = partial_path(dest)
        out = open(tmp, "wb")
        if not fcntl:
            return tmp, out
        fcntl.flock(out.fileno(), fcntl.LOCK_EX)
        try:
            if os.path.samestat(os.fstat(out.fileno()), os.stat(tmp)):
                return tmp, out
        except FileNotFoundError:
            pass
        out.close()  # a sweeper took it for orphaned between its creation and our lock: another name


@contextlib.contextmanager
def writing_partial(dest: Path, *, mtime_ns: int | None = None):
    """Write ``dest`` through a partial file: yields the open file; when the block ends cleanly the
    file gets ``mtime_ns`` (if given) and is renamed onto ``dest``, otherwise it is removed.

    On POSIX the partial file is locked from its creation until after the rename, so
    :func:`remove_orphaned_partials` (in any process) can tell a live transfer from a killed one."""
    tmp, out = _open_locked_partial(dest)
    try:
        yield out
        out.flush()
        if not fcntl:
            out.close()  # Windows renames no open file
        if mtime_ns is not None:  # e.g. the source's, like cp -p
            os.utime(tmp, ns=(mtime_ns, mtime_ns))
        os.replace(tmp, dest)
    finally:
        out.close()
        tmp.unlink(missing_ok=True)


def remove_orphaned_partials(folder: Path) -> int:
    """Delete the partial files in ``folder`` (not below) that a killed transfer left: on POSIX those
    no process holds locked, elsewhere those unchanged for :data:`ORPHAN_AGE`. Returns how many."""
    import time

    removed = 0
    try:
        names = [n for n in os.listdir(folder) if n.startswith(PARTIAL_PREFIX)]
    except OSError:
        return 0
    for name in names:
        path = Path(folder, name)
        try:
            with open(path, "rb") as held:
                if fcntl:
                    fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError while a writer holds it
                elif time.time() - os.fstat(held.fileno()).st_mtime < ORPHAN_AGE:
                    continue
                os.unlink(path)  # under our lock: a writer that opened it but has not locked it yet starts over
            removed += 1
        except OSError:
            continue  # held by a live transfer, or already renamed or removed
    return removed
