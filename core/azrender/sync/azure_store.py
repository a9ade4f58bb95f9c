"""Azure Blob storage (and Azurite) as a :class:`~azrender.sync.store.Store`.

Blob names mirror the keys under the URL's prefix, so the container can be mounted with blobfuse
or read by path on a node; each blob's metadata carries its content hash.

Small files go up as one Put Blob. Larger ones are staged as blocks in parallel and committed
(with the hash metadata) only after every byte read matched the expected hash: until then
the previous blob, or none, is what readers see. Block ids name the block's own content, so a
rerun after an interruption skips blocks that are already staged.

Requests go through :mod:`.blob_rest`, which retries throttling (429/503), server errors and
dropped connections with exponential backoff (``AZRENDER_STORE_RETRIES`` retries, default 4);
what still fails becomes a ``StoreError``.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import logging
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

from azrender import layout
from azrender.dirs import make_folders
from azrender.errors import StoreError, UsageError
from azrender.layout import HASH_METADATA_KEY
from azrender.node import retry
from azrender.redact import register_secret
from azrender.sync import hashing
from azrender.sync.blob_rest import Bearer, BlobContainer, BlobHttpError, Sas, SharedKey, Unreachable
from azrender.sync.partial import write_checked
from azrender.sync.store import AccountInfo, ByteProgress, Store, StoredObject, Transfer

log = logging.getLogger(__name__)

BLOCK_SIZE = 4 << 20  # pooled buffers, and the blocks files over SINGLE_PUT are staged in
SINGLE_PUT = 4 * BLOCK_SIZE  # up to this size one Put Blob from memory: a staged upload costs 3+ requests more
SMALL_FILE = 256 << 10  # smaller files are read as they are, larger ones into pooled buffers
BLOCK_THREADS = 8
PAGE = 5000  # the most a listing page holds
BUFFERS = 16  # pooled BLOCK_SIZE buffers: at most 64 MB of file data in memory at once
# Azurite's well-known development account (published by Microsoft, not a secret).
EMULATOR_ACCOUNT = "devstoreaccount1"
EMULATOR_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_CONTAINER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")
_SAS_PERMISSIONS = set("racwdl")


@dataclass(frozen=True)
class BlobLocation:
    account_url: str  # https://ACCOUNT.blob.core.windows.net, or http://HOST:PORT/ACCOUNT (emulator)
    account: str
    container: str
    prefix: str
    sas: str | None


def parse_blob_url(url: str) -> BlobLocation:
    """Split an account-style or path-style (emulator) blob URL; ``UsageError`` when malformed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    segments = [unquote(s) for s in parts.path.split("/") if s]
    origin = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
    if _is_emulator_host(host):
        if not segments:
            raise UsageError(f"{_strip_query(url)}: an emulator URL needs /ACCOUNT/CONTAINER after the host")
        account = segments.pop(0)
        account_url = f"{origin}/{account}"
    else:
        account = host.split(".", 1)[0]
        account_url = origin
    if not segments:
        raise UsageError(f"{_strip_query(url)}: the URL names no container (…/CONTAINER[/PREFIX])")
    container = segments.pop(0)
    if not _CONTAINER_NAME.match(container):
        raise UsageError(f"{_strip_query(url)}: {container!r} is not a valid container name "
                         "(3-63 lowercase letters, digits and single hyphens)")
    return BlobLocation(account_url, account, container, "/".join(segments), parts.query or None)


def _is_emulator_host(host: str) -> bool:
    if host in ("localhost", "host.docker.internal") or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _strip_query(url: str) -> str:
    return url.split("?", 1)[0]


def _connection_string_fields(text: str) -> dict[str, str]:
    fields = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            fields[name.strip().lower()] = value.strip()
    return fields


@dataclass
class _Account:
    """What every store on one container shares: the REST client, how it authenticates, state."""

    location: BlobLocation
    auth: str  # "key" | "sas" | "token"
    credential: object  # the account key (str), the SAS (str) or an azure-identity credential
    blobs: BlobContainer
    container_missing: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    block_pool: ThreadPoolExecutor | None = None
    buffers: hashing.BufferPool = field(default_factory=lambda: hashing.BufferPool(BUFFERS, BLOCK_SIZE))

    def blocks(self) -> ThreadPoolExecutor:
        with self.lock:
            if self.block_pool is None:
                self.block_pool = ThreadPoolExecutor(BLOCK_THREADS, thread_name_prefix="azrender-block")
            return self.block_pool


def _resolve_credential(loc: BlobLocation, connection_string: str | None, credential) -> tuple[str, object]:
    if credential is not None:
        if isinstance(credential, str):
            register_secret(credential)
            return "key", credential
        if hasattr(credential, "named_key"):  # AzureNamedKeyCredential
            register_secret(credential.named_key.key)
            return "key", credential.named_key.key
        return "token", credential
    text = connection_string or os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if text:
        register_secret(text)
        fields = _connection_string_fields(text)
        named = fields.get("accountname")
        if named and named != loc.account:
            raise UsageError(f"the connection string is for account {named!r}, the URL for {loc.account!r}")
        if fields.get("accountkey"):
            register_secret(fields["accountkey"])
            return "key", fields["accountkey"]
        if fields.get("sharedaccesssignature"):
            register_secret(fields["sharedaccesssignature"])
            return "sas", fields["sharedaccesssignature"]
        raise UsageError("the connection string has neither AccountKey nor SharedAccessSignature")
    if os.environ.get("AZURE_STORAGE_KEY"):
        register_secret(os.environ["AZURE_STORAGE_KEY"])
        return "key", os.environ["AZURE_STORAGE_KEY"]
    if loc.sas:
        register_secret(loc.sas)
        return "sas", loc.sas
    if loc.account == EMULATOR_ACCOUNT and _is_emulator_host(urlsplit(loc.account_url).hostname or ""):
        return "key", EMULATOR_KEY
    if not loc.account_url.startswith("https://"):
        raise UsageError(f"{loc.account_url}/{loc.container}: no credentials for a plain-http endpoint",
                         hint="set AZURE_STORAGE_CONNECTION_STRING or put a SAS in the URL")
    from azrender.credentials import IdentityCredential

    return "token", IdentityCredential(f"{loc.account_url}/{loc.container}",
                                       "set AZURE_STORAGE_CONNECTION_STRING, or put a SAS in the URL")


def _rest_auth(loc: BlobLocation, auth: str, credential):
    if auth == "key":
        try:
            return SharedKey(loc.account, credential)
        except ValueError:
            raise UsageError(f"the account key for {loc.account!r} is not valid base64") from None
    return Sas(credential) if auth == "sas" else Bearer(credential)


class AzureBlobStore(Store):
    def __init__(self, account: _Account, prefix: str):
        self._account = account
        self.prefix = layout.join(prefix)
        loc = account.location
        self.display_url = f"{loc.account_url}/{loc.container}" + (f"/{self.prefix}" if self.prefix else "")

    @classmethod
    def open(cls, url: str, *, connection_string: str | None = None, credential=None) -> "AzureBlobStore":
        loc = parse_blob_url(url)
        auth, cred = _resolve_credential(loc, connection_string, credential)
        retries = retry.retries()
        timeout = float(os.environ.get("AZRENDER_STORE_TIMEOUT", "60"))  # seconds without an answer: retried
        blobs = BlobContainer(loc.account_url, loc.container, _rest_auth(loc, auth, cred), retries=retries,
                              timeout=timeout)
        return cls(_Account(loc, auth, cred, blobs), loc.prefix)

    # ---- helpers ------------------------------------------------------------------------------

    def _name(self, key: str) -> str:
        return layout.join(self.prefix, key)

    def _error(self, exc: Exception, what: str, *, reading: str | None = None) -> StoreError:
        """One clear StoreError for ``exc``; ``reading``: the key being read (a 404 says it is absent)."""
        where = self.display_url
        if reading is not None and isinstance(exc, BlobHttpError) and exc.status == 404:
            return StoreError(f"{where}/{reading} does not exist")
        if isinstance(exc, Unreachable):
            return StoreError(f"cannot reach {where} while {what}: {exc}",
                              hint="check the URL and the network; the next run continues where this one stopped")
        if isinstance(exc, BlobHttpError) and exc.status in (401, 403):
            return StoreError(f"{where}: access denied while {what} ({exc})",
                              hint="check the key, SAS (permissions, expiry) or your Azure role on the container")
        if isinstance(exc, BlobHttpError):
            return StoreError(f"{where}: {what} failed after retries: {exc}")
        return StoreError(f"{where}: {what} failed: {type(exc).__name__}: {_first_line(exc)}")

    def _writing(self, action, what: str):
        """Run a write, creating the container first when a listing found it missing (or the
        write says so), and turn transport failures into one clear ``StoreError``."""
        acct = self._account
        try:
            if acct.container_missing:
                with acct.lock:
                    if acct.container_missing:
                        acct.blobs.create_container()
                        acct.container_missing = False
            try:
                return action()
            except BlobHttpError as exc:
                if exc.code != "ContainerNotFound":
                    raise
                acct.blobs.create_container()
                return action()
        except (BlobHttpError, Unreachable) as exc:
            raise self._error(exc, what) from None

    # ---- Store --------------------------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        base = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        try:
            blobs = list(self._account.blobs.list_blobs(base))
        except BlobHttpError as exc:
            if exc.code != "ContainerNotFound":
                raise self._error(exc, "listing") from None
            self._account.container_missing = True  # created on the first write
            return iter(())
        except Unreachable as exc:
            raise self._error(exc, "listing") from None
        return iter([StoredObject(b.name[strip:], b.size, b.metadata.get(HASH_METADATA_KEY), b.last_modified, b.etag)
                     for b in blobs])

    def stat(self, key: str) -> StoredObject | None:
        try:
            b = self._account.blobs.head_blob(self._name(key))
        except (BlobHttpError, Unreachable) as exc:
            if isinstance(exc, BlobHttpError) and exc.code == "ContainerNotFound":
                return None
            raise self._error(exc, f"reading {key}") from None
        return None if b is None else StoredObject(key, b.size, b.metadata.get(HASH_METADATA_KEY), b.last_modified, b.etag)

    @property
    def given_sas(self) -> str | None:
        return str(self._account.credential) if self._account.auth == "sas" else None

    def access_problem(self, operation: str) -> str | None:
        if self._account.auth != "sas":
            return None
        from azrender.sync import sas

        return sas.parse(str(self._account.credential)).problem(operation)

    def name_problem(self, key: str) -> str | None:
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:  # raw bytes of a Latin-1 share: a blob name is Unicode text
            return "its name is not UTF-8, and Azure Blob Storage names must be; rename it (convmv -f latin1 -t utf8)"
        return None

    def upload_file(self, path, key, content_hash, progress=None) -> Transfer:
        path = Path(path)
        if os.stat(path).st_size > SINGLE_PUT:
            return self._writing(lambda: self._upload_blocks(path, key, content_hash, progress), f"uploading {key}")

        def same(digest: str) -> str:
            if digest != content_hash:
                raise hashing.FileChangedError(f"{path}: the file changed while it was being transferred")
            return key

        return self.hash_and_upload(path, same, progress)[2]

    def hash_and_upload(self, path, key_of, progress=None):
        path = Path(path)
        size = os.stat(path).st_size
        if size > SINGLE_PUT:
            return super().hash_and_upload(path, key_of, progress)
        buffers = self._account.buffers
        pooled = buffers.take_many(-(-size // BLOCK_SIZE)) if size > SMALL_FILE else []
        try:
            chunks, digest, state = hashing.read_once(path, pooled or [bytearray(size)])
            key = key_of(digest)
            if key is not None:
                self._writing(lambda: self._account.blobs.put_blob(self._name(key), chunks,
                                                                   {HASH_METADATA_KEY: digest}), f"uploading {key}")
                if progress:
                    progress(state.size)
        finally:
            for buffer in pooled:
                buffers.give(buffer)
        return digest, state, Transfer(key, state.size, digest, state.size) if key is not None else None

    def list_up_to(self, prefix: str, limit: int) -> list[StoredObject] | None:
        base = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        found: list[StoredObject] = []
        try:
            for b in self._account.blobs.list_blobs(base, page_size=min(limit + 1, PAGE)):  # a page says if there are more
                if len(found) == limit:
                    return None
                found.append(StoredObject(b.name[strip:], b.size, b.metadata.get(HASH_METADATA_KEY),
                                          b.last_modified, b.etag))
        except BlobHttpError as exc:
            if exc.code != "ContainerNotFound":
                raise self._error(exc, "listing") from None
            self._account.container_missing = True
        except Unreachable as exc:
            raise self._error(exc, "listing") from None
        return found

    def _upload_blocks(self, path: Path, key: str, content_hash: str, progress: ByteProgress | None) -> Transfer:
        blobs, name = self._account.blobs, self._name(key)
        staged = blobs.uncommitted_blocks(name)
        pool, buffers = self._account.blocks(), self._account.buffers
        ids: list[str] = []
        futures = []
        errors: list[Exception] = []
        size = sent = 0

        def stage(block_id: str, data: memoryview) -> None:
            try:
                blobs.stage_block(name, block_id, data)
                if progress:
                    progress(len(data))
            except Exception as exc:
                errors.append(exc)
                raise
            finally:
                buffers.give(data.obj)

        try:
            # a buffer per block from the pool: reading waits while BUFFERS blocks are in flight
            for index, data in enumerate(hashing.read_verified(path, content_hash, BLOCK_SIZE, buffers=buffers)):
                if errors:  # a block failed after retries: stop reading, commit nothing
                    buffers.give(data.obj)
                    break
                size += len(data)
                # The id names the block's content: a staged block with this id holds these bytes.
                block_id = base64.b64encode(f"{index:06d}-{hashing.hash_bytes(data)}".encode()).decode()
                ids.append(block_id)
                if staged.get(block_id) == len(data):  # staged by an interrupted run
                    buffers.give(data.obj)
                    if progress:
                        progress(len(data))
                    continue
                futures.append(pool.submit(stage, block_id, data))
                sent += len(data)
        finally:
            for future in futures:  # never leave a staging thread writing after we return
                future.exception()
        if errors:
            raise errors[0]
        blobs.commit_blocks(name, ids, {HASH_METADATA_KEY: content_hash})
        return Transfer(key, size, content_hash, sent)

    def download_file(self, key, dest, progress=None) -> Transfer:
        dest = Path(dest)
        make_folders(dest.parent)
        blobs = self._account.blobs
        for attempt in range(blobs.retries + 1):
            try:
                return self._download_once(key, dest, progress)
            except (BlobHttpError, Unreachable) as exc:
                raise self._error(exc, f"downloading {key}", reading=key) from None
            except (http.client.HTTPException, ConnectionError, TimeoutError) as exc:  # dropped mid-body
                blobs.drop_connection()
                if attempt == blobs.retries:
                    raise self._error(Unreachable(f"{type(exc).__name__}: {exc}"), f"downloading {key}") from None
                blobs._backoff(attempt)  # the same policy as every other request
        raise AssertionError("unreachable")

    def _download_once(self, key: str, dest: Path, progress: ByteProgress | None) -> Transfer:
        response = self._account.blobs.get_blob(self._name(key))
        expected = response.getheader(f"x-ms-meta-{HASH_METADATA_KEY}")
        size, digest = write_checked(dest, response.read, expected=expected, progress=progress,
                                     mismatch=f"{self.display_url}/{key}: downloaded bytes do not match the recorded "
                                              "hash (the blob was replaced meanwhile or is corrupt); run again")
        return Transfer(key, size, digest, size)

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._account.blobs.request("GET", self._name(key), ok=(200,)).body
        except (BlobHttpError, Unreachable) as exc:
            raise self._error(exc, f"reading {key}", reading=key) from None

    def write_bytes(self, key: str, data: bytes) -> None:
        self._writing(lambda: self._account.blobs.put_blob(self._name(key), data,
                                                           {HASH_METADATA_KEY: hashing.hash_bytes(data)}),
                      f"writing {key}")

    def delete(self, key: str) -> None:
        try:
            self._account.blobs.delete_blob(self._name(key))
        except (BlobHttpError, Unreachable) as exc:
            raise self._error(exc, f"deleting {key}") from None

    def child(self, prefix: str) -> "AzureBlobStore":
        return AzureBlobStore(self._account, layout.join(self.prefix, prefix))

    def node_access_url(self, permissions: str, expiry: datetime) -> str:
        if not permissions or set(permissions) - _SAS_PERMISSIONS:
            raise UsageError(f"SAS permissions {permissions!r}: use letters from 'racwdl'")
        acct, loc = self._account, self._account.location
        container_url = f"{loc.account_url}/{loc.container}"
        if acct.auth == "sas":
            log.info("render nodes get the SAS this store was opened with, as given")
            return f"{container_url}?{str(acct.credential).lstrip('?')}"
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        start = datetime.now(timezone.utc) - timedelta(minutes=5)  # tolerate node clock skew
        permission = ContainerSasPermissions.from_string(permissions)
        if acct.auth == "key":
            sas = generate_container_sas(loc.account, loc.container, account_key=acct.credential,
                                         permission=permission, start=start, expiry=expiry)
        else:
            from azure.core.exceptions import AzureError
            from azure.storage.blob import BlobServiceClient

            try:
                service = BlobServiceClient(loc.account_url, credential=acct.credential)
                delegation = service.get_user_delegation_key(start, expiry)
            except AzureError as exc:
                raise StoreError(f"{self.display_url}: could not get a user delegation key for render nodes: "
                                 f"{_first_line(exc)}", hint="your role needs Storage Blob Delegator") from None
            sas = generate_container_sas(loc.account, loc.container, user_delegation_key=delegation,
                                         permission=permission, start=start, expiry=expiry)
        register_secret(sas)
        return f"{container_url}?{sas}"

    def describe_account(self) -> AccountInfo | None:
        from azrender.dirs import cache_dir

        loc = self._account.location
        memo_path = cache_dir() / "accounts.json"
        try:
            memo = json.loads(memo_path.read_text())
        except (OSError, ValueError, RecursionError):
            memo = {}
        known = memo.get(loc.account_url)
        if isinstance(known, dict) and {"kind", "sku"} <= known.keys():
            return AccountInfo(known["kind"], known["sku"])
        try:
            kind, sku = self._account.blobs.account_information()
        except (BlobHttpError, Unreachable) as exc:
            log.debug("could not read the account kind of %s: %s", loc.account_url, exc)
            return None
        if kind == "Storage":
            log.warning("%s is a general-purpose v1 storage account (%s): its lower request and bandwidth "
                        "limits throttle rendering on many nodes; upgrade it to general-purpose v2",
                        loc.account_url, sku)
        memo[loc.account_url] = {"kind": kind, "sku": sku}
        try:
            memo_path.write_text(json.dumps(memo, sort_keys=True))
        except OSError:
            pass
        return AccountInfo(kind, sku)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
