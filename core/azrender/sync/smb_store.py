"""A store on an SMB 3 share (Azure Files, a Windows server, a NAS, Samba), through smbprotocol.

URLs: ``smb://[USER@]HOST[:PORT]/SHARE[/PREFIX]``, the UNC path ``\\\\HOST\\SHARE\\PREFIX`` and
``https://ACCOUNT.file.core.windows.net/SHARE[/PREFIX]``. Credentials never come from the URL:
the password from ``AZRENDER_SMB_PASSWORD`` (user from the URL or ``AZRENDER_SMB_USER``); for
``ACCOUNT.file.core.windows.net`` the account name and its key (``AZURE_STORAGE_KEY`` or the
connection string), as Azure Files expects. Every session is encrypted (SMB 3), as Azure Files
requires: a server that cannot encrypt is refused.

SMB has no blob metadata (and Azure Files no extended attributes or streams), so content hashes
live beside the data, in ``<store root>/.azrender-hashes/<folder>/``, as empty files whose *names*
carry what they vouch for: ``<xxh3-64 of the file name>~<size>~<mtime in µs>~<content hash>``.
One directory listing gives every hash of a folder, and a hash counts only while the file still
has that size and modification time (anything that rewrites it outside azrender voids it).
Writes go to ``.azrender-partial-*`` names, are verified, then renamed; the hash file comes last,
so an interrupted write is at worst a file without a hash, which the next sync sends again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

import xxhash

from azrender import layout
from azrender.dirs import make_folders
from azrender.errors import StoreError, UsageError
from azrender.redact import register_secret
from azrender.sync import hashing, keys
from azrender.sync.partial import PARTIAL_PREFIX, write_checked
from azrender.sync.store import ByteProgress, Store, StoredObject, Transfer

DEFAULT_PORT = 445
AZURE_FILES_SUFFIX = ".file.core.windows.net"
HASH_DIR = ".azrender-hashes"
PASSWORD_ENV = "AZRENDER_SMB_PASSWORD"
USER_ENV = "AZRENDER_SMB_USER"
CHUNK = 4 << 20  # bytes per SMB write; smbprotocol splits it to the server's maximum
# A partial file unchanged this long and that nobody holds open (its writer opened it without
# sharing) is a killed writer's: removed by the next listing. Writers touch it every chunk.
SWEEP_AGE = 60.0
LIST_WORKERS = 8  # folders listed at once
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_WRITE_ACCESS = 0x00000002 | 0x00000100 | 0x00010000 | 0x00000080  # write data, write attributes, delete, read attributes


@dataclass(frozen=True)
class SmbLocation:
    host: str
    port: int
    share: str
    prefix: str  # '/'-separated folder inside the share ('' for its root)
    user: str | None

    @property
    def azure_account(self) -> str | None:
        """The storage account name when this is an Azure Files share."""
        host = self.host.lower()
        return host[: -len(AZURE_FILES_SUFFIX)] if host.endswith(AZURE_FILES_SUFFIX) else None

    @property
    def display_url(self) -> str:
        port = f":{self.port}" if self.port != DEFAULT_PORT else ""
        user = f"{self.user}@" if self.user else ""
        return f"smb://{user}{self.host}{port}/{self.share}" + (f"/{self.prefix}" if self.prefix else "")


def is_smb_url(url: str) -> bool:
    text = url.strip()
    return (text.lower().startswith("smb://") or text.startswith("\\\\")
            or bool(re.match(r"(?i)https?://[^/]+\.file\.core\.windows\.net(/|$)", text)))


def parse_smb_url(url: str) -> SmbLocation:
    """``UsageError`` (one line) for anything malformed; a password in the URL is refused, since
    URLs end up in shells' histories and process lists."""
    text = url.strip()
    if text.startswith("\\\\"):  # UNC: \\HOST[@PORT]\SHARE\PREFIX
        parts = [p for p in text[2:].split("\\") if p]
        if len(parts) < 2:
            raise UsageError(f"{url}: a UNC store path needs a host and a share (\\\\HOST\\SHARE[\\PREFIX])")
        host, port = parts[0], DEFAULT_PORT
        if "@" in host:  # Windows spells a port \\host@port\share
            host, _, port_text = host.partition("@")
            port = _port(url, port_text)
        return _location(url, host, port, parts[1], "/".join(parts[2:]), None)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{url}: malformed SMB URL ({exc})") from None
    if parts.password is not None:
        raise UsageError(f"{url.split('@')[-1]}: put the SMB password in {PASSWORD_ENV}, never in the URL")
    if parts.query or parts.fragment:
        raise UsageError(f"{parts.scheme}://{parts.hostname}: an SMB URL takes no '?' or '#' part")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if not parts.hostname or not segments:
        raise UsageError(f"{url}: an SMB store URL needs a host and a share (smb://[USER@]HOST[:PORT]/SHARE[/PREFIX])")
    user = unquote(parts.username) if parts.username else None
    if parts.scheme.lower() in ("http", "https"):  # Azure Files by its https name: SMB on 445
        port, user = None, None
    return _location(url, parts.hostname, port or DEFAULT_PORT, segments[0], "/".join(segments[1:]), user)


def _port(url: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"{url}: malformed SMB port {text!r}")
    return int(text)


def _location(url: str, host: str, port: int, share: str, prefix: str, user: str | None) -> SmbLocation:
    for part in [share, *prefix.split("/")]:
        if part and keys.unsafe_reason(part):
            raise UsageError(f"{url}: {part!r} is not usable in an SMB path ({keys.unsafe_reason(part)})")
    return SmbLocation(host, port, share, layout.join(prefix), user)


def _credentials(loc: SmbLocation) -> tuple[str | None, str | None]:
    account = loc.azure_account
    if account:
        from azrender.sync.azure_store import _connection_string_fields

        fields = _connection_string_fields(os.environ.get("AZURE_STORAGE_CONNECTION_STRING", ""))
        key = os.environ.get("AZURE_STORAGE_KEY")
        if not key and fields.get("accountname", "").lower() == account:
            key = fields.get("accountkey")
        if not key:
            raise UsageError(f"{loc.display_url}: Azure Files needs the storage account key",
                             hint="set AZURE_STORAGE_KEY or AZURE_STORAGE_CONNECTION_STRING for account " + account)
        register_secret(key)
        return account, key
    password = os.environ.get(PASSWORD_ENV) or None
    register_secret(password)
    return loc.user or os.environ.get(USER_ENV) or None, password


class _Session:
    """Authenticated, encrypted SMB connections to one location, lent to one operation at a time
    (parallel writes on one connection run out of SMB credits) and reused by the next."""

    def __init__(self, loc: SmbLocation, user: str | None, password: str | None):
        self.loc, self.user, self._password = loc, user, password
        self._free: list[dict] = []  # idle smbclient connection caches, one connection each
        self._all: list[dict] = []
        self.lock = threading.Lock()
        self.seen_hashes: dict[str, list[str]] = {}  # hash-folder path -> names, from the last listing
        self.known_dirs: set[str] = set()  # folders (relative to the location) known to exist: no makedirs

    def _connect(self) -> dict:
        from smbclient._pool import ClientConfig  # noqa: F401  (smbclient's defaults, e.g. DFS, loaded)
        from smbprotocol.connection import Connection
        from smbprotocol.session import Session

        # A client GUID per connection: Samba hands connections that share one to the same server
        # process (multichannel), where a new session waited behind the busy ones.
        connection = Connection(uuid.uuid4(), self.loc.host, self.loc.port, require_signing=True)
        try:
            connection.connect(timeout=30)
            Session(connection, username=self.user, password=self._password, require_encryption=True).connect()
        except Exception as exc:
            try:
                connection.disconnect()
            except Exception:
                pass
            raise _error(exc, self.loc.display_url, "connecting") from None
        return {f"{self.loc.host.lower()}:{self.loc.port}": connection}

    @contextlib.contextmanager
    def connection(self):
        """smbclient keyword arguments bound to a connection of this location's own."""
        with self.lock:
            cache = self._free.pop() if self._free else None
        if cache is None or not next(iter(cache.values())).transport.connected:
            cache = self._connect()
            with self.lock:
                self._all.append(cache)
        try:
            yield {"port": self.loc.port, "connection_cache": cache}
        finally:
            with self.lock:
                self._free.append(cache)

    def close(self) -> None:
        with self.lock:
            caches, self._all, self._free = self._all, [], []
        for cache in caches:
            for connection in cache.values():
                try:
                    connection.disconnect()
                except Exception:
                    pass


def _error(exc: BaseException, where: str, what: str) -> StoreError:
    from smbprotocol import exceptions as smbexc

    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, (smbexc.LogonFailure, smbexc.SMBAuthenticationError)) or "STATUS_LOGON_FAILURE" in text:
        return StoreError(f"{where}: the server refused the user name or password while {what}",
                          hint=f"check the user in the URL (or {USER_ENV}) and {PASSWORD_ENV}, or the account key")
    if isinstance(exc, (smbexc.AccessDenied,)) or isinstance(exc, PermissionError):
        return StoreError(f"{where}: access denied while {what}")
    if isinstance(exc, smbexc.BadNetworkName):
        return StoreError(f"{where}: the server has no such share")
    if isinstance(exc, smbexc.SMBUnsupportedFeature) or "encrypt" in text.lower():
        return StoreError(f"{where}: the server cannot encrypt SMB traffic ({text}); azrender requires SMB 3 encryption")
    if isinstance(exc, (ValueError, ConnectionError, smbexc.SMBConnectionClosed, TimeoutError)):
        return StoreError(f"cannot reach {where} while {what}: {text}",
                          hint="check the host, the port (445 is often blocked) and the network; "
                               "the next run continues where this one stopped")
    return StoreError(f"{where}: {what} failed: {type(exc).__name__}: {text}")


def _missing(exc: BaseException) -> bool:
    """smbclient raises ``SMBOSError`` (an OSError) for an absent file or folder."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOENT, errno.ENOTDIR)


def _micros(when: datetime) -> int:
    return (when - _EPOCH) // timedelta(microseconds=1)


def _name_tag(name: str) -> str:
    return xxhash.xxh3_64_hexdigest(name.encode("utf-8"))


def _hash_name(name: str, size: int, mtime_us: int, content_hash: str) -> str:
    return f"{_name_tag(name)}~{size}~{mtime_us}~{content_hash}"


def _parse_hash_name(text: str) -> tuple[str, int, int, str] | None:
    parts = text.split("~")
    if len(parts) != 4 or not parts[1].isdigit() or not parts[2].lstrip("-").isdigit():
        return None
    return parts[0], int(parts[1]), int(parts[2]), parts[3]


class SmbStore(Store):
    def __init__(self, session: _Session, prefix: str = ""):
        self._s = session
        self.prefix = layout.join(prefix)
        loc = session.loc
        self.display_url = loc.display_url + (f"/{self.prefix}" if self.prefix else "")

    @classmethod
    def open(cls, url: str) -> "SmbStore":
        loc = parse_smb_url(url)
        user, password = _credentials(loc)
        return cls(_Session(loc, user, password))

    # ---- paths --------------------------------------------------------------------------------

    def _full(self, key: str) -> str:
        """``key`` relative to the location's root (its URL prefix), validated."""
        full = layout.join(self.prefix, key)
        reason = keys.unsafe_reason(full)
        if reason:
            raise StoreError(f"{self.display_url}: key {key!r} is not usable ({reason})")
        return full

    def _unc(self, rel: str = "") -> str:
        loc = self._s.loc
        parts = [loc.host, loc.share, *loc.prefix.split("/"), *rel.split("/")]
        return "\\\\" + "\\".join(p for p in parts if p)

    def _hash_dir(self, rel_folder: str) -> str:
        return self._unc(layout.join(HASH_DIR, rel_folder))

    # ---- listing ------------------------------------------------------------------------------

    def _scandir(self, unc: str, kw: dict) -> list | None:
        """The folder's entries; None when it does not exist."""
        import smbclient

        try:
            return list(smbclient.scandir(unc, **kw))
        except Exception as exc:
            if _missing(exc):
                return None
            raise _error(exc, self.display_url, "listing") from None

    def _hashes(self, rel_folder: str, kw: dict) -> dict[str, list[tuple[int, int, str]]]:
        """``{name tag: [(size, mtime µs, hash)]}`` of one folder (the names seen are kept, so
        the next write there replaces its file's old hash file)."""
        names = [e.name for e in self._scandir(self._hash_dir(rel_folder), kw) or ()]
        self._s.seen_hashes[rel_folder] = names
        found: dict[str, list[tuple[int, int, str]]] = {}
        for name in names:
            parsed = _parse_hash_name(name)
            if parsed:
                tag, size, mtime_us, content_hash = parsed
                found.setdefault(tag, []).append((size, mtime_us, content_hash))
        return found

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """One directory listing per folder (and one per folder of hash records), folders listed
        in parallel over this location's connections: a share's round trips, not its bytes, are
        what a listing costs."""
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        base = layout.join(self.prefix, prefix) + ("/" if prefix.endswith("/") else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        found: list[StoredObject] = []
        now = datetime.now(timezone.utc)

        def folder(rel: str) -> list[str]:
            """List ``rel``: its objects into ``found``, its sub-folders to list next."""
            subfolders, objects = [], []
            with self._s.connection() as kw:
                hashes = None
                entries = self._scandir(self._unc(rel), kw)
                if entries is None:
                    return []
                self._s.known_dirs.add(rel)
                for entry in entries:
                    full = f"{rel}/{entry.name}" if rel else entry.name
                    if entry.is_dir():
                        if (rel or entry.name != HASH_DIR) and (full.startswith(base) or base.startswith(full + "/")):
                            subfolders.append(full)
                        continue
                    info = entry.smb_info
                    if entry.name.startswith(PARTIAL_PREFIX):  # a write in progress, or a killed one's
                        if (now - info.last_write_time).total_seconds() > SWEEP_AGE:
                            self._remove(f"{self._unc(rel)}\\{entry.name}", kw)  # refused while still open
                        continue
                    if not full.startswith(base):
                        continue
                    if hashes is None:
                        hashes = self._hashes(rel, kw)
                    size, modified = info.end_of_file, info.last_write_time
                    content_hash = next((h for s, t, h in hashes.get(_name_tag(entry.name), ())
                                         if s == size and t == _micros(modified)), None)
                    objects.append(StoredObject(full[strip:], size, content_hash, modified))
            found.extend(objects)
            return subfolders

        with ThreadPoolExecutor(max_workers=LIST_WORKERS) as pool:
            pending = {pool.submit(folder, "/".join(base.split("/")[:-1]))}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    pending |= {pool.submit(folder, sub) for sub in future.result()}
        found.sort(key=lambda o: o.key)
        return iter(found)

    @staticmethod
    def _remove(unc: str, kw: dict) -> bool:
        import smbclient

        try:
            smbclient.remove(unc, **kw)
            return True
        except Exception:
            return False

    # ---- writing ------------------------------------------------------------------------------

    def _write(self, full: str, chunks, content_hash: str, mtime_ns: int | None,
               progress: ByteProgress | None) -> int:
        """Write through a partial name held open without sharing; once every byte is written,
        set the modification time and rename onto ``full`` through that same handle (no window in
        which another client or a sweeper sees it closed), then record the hash."""
        import time

        import smbclient

        folder, _, name = full.rpartition("/")
        temp = self._unc(layout.join(folder, f"{PARTIAL_PREFIX}{uuid.uuid4().hex[:12]}"))
        mtime_ns = mtime_ns if mtime_ns is not None else time.time_ns()
        mtime_ns -= mtime_ns % 100  # SMB keeps 100 ns ticks
        size = 0
        with self._s.connection() as kw:
            try:
                if folder and folder not in self._s.known_dirs:
                    smbclient.makedirs(self._unc(folder), exist_ok=True, **kw)
                    self._s.known_dirs.add(folder)
                try:
                    out = smbclient.open_file(temp, mode="wb", share_access=None, desired_access=_WRITE_ACCESS, **kw)
                except Exception as exc:
                    if not (folder and _missing(exc)):
                        raise
                    smbclient.makedirs(self._unc(folder), exist_ok=True, **kw)  # removed since we saw it
                    out = smbclient.open_file(temp, mode="wb", share_access=None, desired_access=_WRITE_ACCESS, **kw)
                with out:
                    pending = bytearray()
                    for chunk in chunks:
                        pending += chunk
                        if len(pending) >= CHUNK:
                            out.write(pending)
                            size += len(pending)
                            if progress:
                                progress(len(pending))
                            pending.clear()
                    if pending:
                        out.write(pending)
                        size += len(pending)
                        if progress:
                            progress(len(pending))
                    out.flush()
                    self._finish(out.raw, layout.join(self._s.loc.prefix, full), mtime_ns)
                self._record_hash(folder, name, size, mtime_ns // 1000, content_hash, kw)
            except BaseException as exc:
                self._remove(temp, kw)
                if isinstance(exc, (hashing.FileChangedError, StoreError)) or not isinstance(exc, Exception):
                    raise
                raise _error(exc, self.display_url, f"writing {full}") from None
        return size

    @staticmethod
    def _finish(raw, share_path: str, mtime_ns: int) -> None:
        """Set the last write time (kept: like cp -p) and rename, in one round trip on ``raw``."""
        from smbclient._os import DateTimeField, FileBasicInformation, FileRenameInformation, SMBFileTransaction, set_info

        with SMBFileTransaction(raw) as transaction:
            basic = FileBasicInformation()
            for field in ("creation_time", "last_access_time", "change_time", "file_attributes"):
                basic[field] = 0  # unchanged
            basic["last_write_time"] = mtime_ns // 100 + DateTimeField.EPOCH_FILETIME
            set_info(transaction, basic)
            rename = FileRenameInformation()
            rename["replace_if_exists"] = True
            rename["file_name"] = share_path.replace("/", "\\")
            set_info(transaction, rename)

    def _record_hash(self, folder: str, name: str, size: int, mtime_us: int, content_hash: str, kw: dict) -> None:
        import smbclient

        hash_folder = self._hash_dir(folder)
        known = layout.join(HASH_DIR, folder)
        if known not in self._s.known_dirs:
            smbclient.makedirs(hash_folder, exist_ok=True, **kw)
            self._s.known_dirs.add(known)
        new = _hash_name(name, size, mtime_us, content_hash)
        try:
            smbclient.open_file(f"{hash_folder}\\{new}", mode="wb", **kw).close()
        except Exception as exc:
            if not _missing(exc):
                raise
            smbclient.makedirs(hash_folder, exist_ok=True, **kw)  # removed since we made it
            smbclient.open_file(f"{hash_folder}\\{new}", mode="wb", **kw).close()
        tag = _name_tag(name)
        for old in self._s.seen_hashes.get(folder, ()):
            if old != new and old.startswith(tag + "~"):
                self._remove(f"{hash_folder}\\{old}", kw)  # if it stays, it never matches: harmless

    def upload_file(self, path, key, content_hash, progress=None) -> Transfer:
        path = Path(path)
        full = self._full(key)
        mtime_ns = os.stat(path).st_mtime_ns
        size = self._write(full, hashing.read_verified(path, content_hash, CHUNK), content_hash, mtime_ns, progress)
        return Transfer(key, size, content_hash, size)

    def write_bytes(self, key: str, data: bytes) -> None:
        self._write(self._full(key), [data], hashing.hash_bytes(data), None, None)

    # ---- reading ------------------------------------------------------------------------------

    def _reading(self, key: str, action):
        with self._s.connection() as kw:
            try:
                return action(kw)
            except (StoreError, hashing.FileChangedError):
                raise
            except Exception as exc:
                if _missing(exc):
                    raise StoreError(f"{self.display_url}/{key} does not exist") from None
                raise _error(exc, self.display_url, f"reading {key}") from None

    def download_file(self, key, dest, progress=None) -> Transfer:
        import smbclient

        full = self._full(key)
        folder, _, name = full.rpartition("/")
        dest = Path(dest)

        def fetch(kw) -> Transfer:
            with smbclient.open_file(self._unc(full), mode="rb", **kw) as src:
                st = smbclient.stat(self._unc(full), **kw)
                expected = next((h for s, t, h in self._hashes(folder, kw).get(_name_tag(name), ())
                                 if s == st.st_size and t == st.st_mtime_ns // 1000), None)
                make_folders(dest.parent)
                size, got = write_checked(dest, src.read, expected=expected, progress=progress, chunk=CHUNK,
                                          mismatch=f"{self.display_url}/{key} does not match its recorded hash "
                                                   "(changed while it was read?); run again")
            return Transfer(key, size, got, size)

        return self._reading(key, fetch)

    def read_bytes(self, key: str) -> bytes:
        import smbclient

        full = self._full(key)

        def read(kw) -> bytes:
            with smbclient.open_file(self._unc(full), mode="rb", **kw) as src:
                return src.read()

        return self._reading(key, read)

    def delete(self, key: str) -> None:
        import smbclient

        full = self._full(key)
        folder, _, name = full.rpartition("/")
        with self._s.connection() as kw:
            try:
                smbclient.remove(self._unc(full), **kw)
            except Exception as exc:
                if not _missing(exc):
                    raise _error(exc, self.display_url, f"deleting {key}") from None
            tag = _name_tag(name)
            for entry in self._scandir(self._hash_dir(folder), kw) or ():
                if entry.name.startswith(tag + "~"):
                    self._remove(f"{self._hash_dir(folder)}\\{entry.name}", kw)
            parts = folder.split("/") if folder else []
            while parts:  # drop folders the deletion emptied, never the store's root
                try:
                    smbclient.rmdir(self._unc("/".join(parts)), **kw)
                except Exception:
                    break
                self._s.known_dirs.discard("/".join(parts))
                parts.pop()

    def name_problem(self, key: str) -> str | None:
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            return "its name is not UTF-8, and SMB names are Unicode; rename it (convmv -f latin1 -t utf8)"
        for part in key.split("/"):
            bad = sorted(set(part) & set('"*:<>?|\\'))
            if bad or part.endswith((".", " ")) or any(ord(c) < 32 for c in part):
                what = f"{''.join(bad)!r}" if bad else "a control character or a trailing dot or space"
                return f"{part!r} has {what}, which SMB shares (Windows, Azure Files) refuse in names; rename it"
        return None

    def exists(self) -> bool:
        """Whether this store's folder exists on the share (a sync creates it)."""
        import smbclient

        with self._s.connection() as kw:
            try:
                return smbclient.path.isdir(self._unc(self.prefix), **kw)
            except Exception as exc:
                raise _error(exc, self.display_url, "looking for the store folder") from None

    def child(self, prefix: str) -> "SmbStore":
        return SmbStore(self._s, layout.join(self.prefix, prefix))

    def node_access_url(self, permissions: str, expiry: datetime) -> str:
        """Nodes do not fetch from a share: the pool mounts it. Its https name for Azure Files
        (what ``azureFileShareConfiguration`` takes), else its smb:// URL; no secret in either."""
        loc = self._s.loc
        account = loc.azure_account
        if account:
            return f"https://{account}{AZURE_FILES_SUFFIX}/{loc.share}" + (f"/{loc.prefix}" if loc.prefix else "")
        return loc.display_url

    def close(self) -> None:
        """Close this location's connections (children share them)."""
        self._s.close()
