"""Read-only store client for render nodes (standard library only).

Two stores, chosen by URL: Azure Blob over its REST API (``https://ACCOUNT.blob.core.windows.net/
CONTAINER[/PREFIX]`` or an Azurite ``http://HOST:PORT/ACCOUNT/CONTAINER[/PREFIX]``), authorised by
a SAS query string (:data:`SAS_VARIABLE`) or the pool's managed identity (a token from the node's metadata endpoint); and
a local folder (``file:///...``) for the local backend. Keys are store-relative (``assets/a/b.png``).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import json
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request

from . import retry

HASH_METADATA_KEY = "azrender_xxh3"  # mirrors azrender.layout.HASH_METADATA_KEY
PARTIAL_PREFIX = ".azrender-partial-"  # mirrors azrender.sync.partial.PARTIAL_PREFIX
FRAME_MD5_KEY = "azrender_md5"  # a frame the node tool uploaded whole (see BlobStore.write_file)
# The store's read SAS, set by Batch in the job preparation task's environment (mirrors
# azrender.jobs.access.SAS_VARIABLE): never a file, never an argument.
SAS_VARIABLE = "AZRENDER_STORE_SAS"
USER_UMASK_VARIABLE = "AZRENDER_USER_UMASK"  # mirrors azrender.dirs: the node runs privately, frames are the user's
API_VERSION = "2021-08-06"
IMDS = "http://169.254.169.254/metadata/identity/oauth2/token"
CHUNK = 1 << 20
# Writes the node's own disk refused for lack of room (EFBIG: a file-size limit): not the store's fault.
DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}


class StoreError(Exception):
    """A store that cannot be read; the message never contains the SAS."""


class Mismatch(StoreError):
    """The store holds a different version of a file than the manifest expects."""


def open_store(url: str, *, sas: str | None = None, identity: str | None = None):
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "file":
        return FileStore(urllib.request.url2pathname(parsed.path))
    if parsed.scheme in ("http", "https"):
        return BlobStore(url, sas=sas, identity=identity)
    raise StoreError(f"unsupported store URL scheme {parsed.scheme!r}")


class FileStore:
    def __init__(self, root: str):
        self.root = root

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def _shared_umask(self) -> int | None:
        """A local node runs privately; what it writes into a store the user shares (a root others may
        read) gets the user's own umask, what it writes into azrender's private store stays private."""
        umask = os.environ.get(USER_UMASK_VARIABLE)
        if not umask or not os.stat(self.root).st_mode & 0o077:
            return None
        return int(umask, 8)

    def read(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except OSError as exc:
            raise StoreError(f"cannot read {key} from the store: {exc.strerror}") from None

    def download(self, key: str, dest: str, *, size: int | None = None, digest: str | None = None) -> int:
        try:
            _clone(self._path(key), dest)
        except OSError as exc:
            if exc.errno in DISK_FULL_ERRNOS:
                raise
            raise StoreError(f"cannot copy {key} from the store: {exc.strerror}") from None
        got = os.path.getsize(dest)
        if size is not None and got != size:
            raise Mismatch(f"{key}: the store has {got} bytes, the manifest says {size}")
        return got

    def write_file(self, key: str, source: str) -> None:
        """``source`` under ``key`` through a partial file beside it (the sync stage's convention:
        named ``PARTIAL_PREFIX...``, locked while written, renamed into place once complete), so a
        file under its own name in the store is always whole and a killed upload's leftover is swept."""
        import uuid

        dest = self._path(key)
        umask = self._shared_umask()
        folder, created = os.path.dirname(dest), []
        while not os.path.isdir(folder) and folder != os.path.dirname(folder):
            created.append(folder)
            folder = os.path.dirname(folder)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        for folder in created if umask is not None else ():
            os.chmod(folder, 0o777 & ~umask)
        name = f"{PARTIAL_PREFIX}{uuid.uuid4().hex[:12]}-{os.path.basename(dest)}"
        partial = os.path.join(os.path.dirname(dest), name if len(os.fsencode(name)) <= 255 else name[:len(PARTIAL_PREFIX) + 12])
        try:
            with open(partial, "wb") as out, open(source, "rb") as src:
                with contextlib.suppress(ImportError, OSError):
                    import fcntl

                    fcntl.flock(out.fileno(), fcntl.LOCK_EX)
                if umask is not None:
                    os.fchmod(out.fileno(), 0o666 & ~umask)
                shutil.copyfileobj(src, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
                os.replace(partial, dest)  # still locked: a sweep never takes it for a killed writer's
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise StoreError(f"cannot write {key} to the store: {exc.strerror}") from None

    def verified(self, key: str) -> bool:
        """Written whole (see :meth:`write_file`) and not empty."""
        try:
            return os.path.getsize(self._path(key)) > 0
        except OSError:
            return False


def _clone(source: str, dest: str) -> None:
    """``dest`` with ``source``'s content, sharing its blocks where the file system can copy on
    write (a reflink: btrfs, XFS, APFS...), else a copy. Never a hard link: a file edited on the
    node would edit the store."""
    try:
        import fcntl

        with open(source, "rb") as src, open(dest, "wb") as out:
            fcntl.ioctl(out.fileno(), 0x40049409, src.fileno())  # FICLONE
        return
    except (ImportError, OSError):
        pass
    shutil.copyfile(source, dest)


class BlobStore:
    def __init__(self, url: str, *, sas: str | None = None, identity: str | None = None):
        base, _, query = url.partition("?")
        self.base = base.rstrip("/")
        self.sas = (sas or query).lstrip("?")
        self.identity = identity
        self._token: tuple[str, float] | None = None

    def _url(self, key: str) -> str:
        url = f"{self.base}/{urllib.parse.quote(key, safe='/~')}"
        return f"{url}?{self.sas}" if self.sas else url

    def _headers(self) -> dict:
        headers = {"x-ms-version": API_VERSION}
        if self.identity:
            headers["Authorization"] = f"Bearer {self._bearer()}"
        return headers

    def _bearer(self) -> str:
        if self._token and self._token[1] > time.time() + 300:
            return self._token[0]
        query = urllib.parse.urlencode({"api-version": "2018-02-01", "resource": "https://storage.azure.com/",
                                        "msi_res_id": self.identity})
        request = urllib.request.Request(f"{IMDS}?{query}", headers={"Metadata": "true"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = json.load(response)
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot get a token for the pool identity: {exc}") from None
        self._token = (body["access_token"], float(body.get("expires_on", time.time() + 3600)))
        return self._token[0]

    def _open(self, key: str, method: str = "GET", headers: dict | None = None, body=None, what: str = "read",
              timeout: float = 60):
        """The open response to one request, retrying transient failures with backoff (``body()``
        gives a fresh body for each try); None for a HEAD of a blob that is not there."""
        tries = retry.retries()
        for attempt in range(tries + 1):
            request = urllib.request.Request(self._url(key), data=body() if body else None, method=method,
                                             headers={**self._headers(), **(headers or {})})
            try:
                return urllib.request.urlopen(request, timeout=timeout)
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    if method == "HEAD":
                        return None
                    raise StoreError(f"{key} is not in the store") from None
                if exc.code in (401, 403):
                    raise StoreError(f"the store refused {key} (HTTP {exc.code}): access expired or not granted") from None
                if exc.code not in retry.RETRY_STATUS or attempt == tries:
                    raise StoreError(f"cannot {what} {key}: HTTP {exc.code}") from None
            except (urllib.error.URLError, OSError) as exc:
                if attempt == tries:
                    reason = getattr(exc, "reason", exc)
                    raise StoreError(f"cannot reach the store for {key}: {reason}") from None
            time.sleep(retry.delay(attempt))
        raise AssertionError("unreachable")

    def read(self, key: str) -> bytes:
        with self._open(key) as response:
            return response.read()

    def write_file(self, key: str, source: str) -> None:
        """``source`` as the block blob ``key`` in one Put Blob (up to 5000 MiB) with its Content-MD5,
        which the service checks: a blob azrender wrote is whole or absent. The MD5 is also kept
        as metadata, so :meth:`verified` can tell such a blob from any other."""
        digest = hashlib.md5(usedforsecurity=False)
        with open(source, "rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                digest.update(block)
        md5 = base64.b64encode(digest.digest()).decode()
        size = os.path.getsize(source)
        handles = []

        def body():
            handles.append(open(source, "rb"))
            return handles[-1]

        try:
            self._open(key, "PUT", {"x-ms-blob-type": "BlockBlob", "Content-MD5": md5, "Content-Length": str(size),
                                    "Content-Type": "application/octet-stream", f"x-ms-meta-{FRAME_MD5_KEY}": md5},
                       body, what="write", timeout=300).close()
        finally:
            for handle in handles:
                handle.close()

    def verified(self, key: str) -> bool:
        """The blob exists, is not empty and was written whole by :meth:`write_file` (its stored
        Content-MD5, checked by the service on upload, is the one the uploader recorded)."""
        response = self._open(key, "HEAD")
        if response is None:
            return False
        response.close()
        headers = response.headers
        md5 = headers.get("Content-MD5")
        return int(headers.get("Content-Length") or 0) > 0 and bool(md5) and md5 == headers.get(f"x-ms-meta-{FRAME_MD5_KEY}")

    def download(self, key: str, dest: str, *, size: int | None = None, digest: str | None = None) -> int:
        with self._open(key) as response:
            stored = response.headers.get(f"x-ms-meta-{HASH_METADATA_KEY}")
            if digest and stored and stored.lower() != digest.lower():
                raise Mismatch(f"{key}: the store holds another version (hash {stored}) than the manifest ({digest})")
            got = 0
            with open(dest, "wb") as out:
                while True:
                    block = response.read(CHUNK)
                    if not block:
                        break
                    out.write(block)
                    got += len(block)
        if size is not None and got != size:
            raise Mismatch(f"{key}: received {got} bytes, the manifest says {size}")
        return got
