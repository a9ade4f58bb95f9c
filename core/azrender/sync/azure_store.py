"""Azure Blob storage (and Azurite) as a :class:`~azrender.sync.stores.Store`.

Blob names mirror the keys under the URL's prefix, so the container can be mounted with blobfuse
or read by path on a node; each blob's metadata carries its content hash.

Small files go up as one Put Blob. Larger ones are staged as blocks in parallel and committed
(with the hash metadata) only after every byte was read back as the hashed content: until then
the previous blob, or none, is what readers see. Block ids name the block's own content, so a
rerun after an interruption skips blocks that are already staged.

The SDK retries throttling (503), server errors and dropped connections with exponential backoff
(``AZRENDER_STORE_RETRIES`` attempts, default 4); what still fails becomes a ``StoreError``.
"""

from __future__ import annotations

import base64
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
from azrender.errors import StoreError, UsageError
from azrender.redact import register_secret
from azrender.sync import hashing
from azrender.sync.stores import AccountInfo, ByteProgress, Store, StoredObject, Transfer, partial_path

log = logging.getLogger(__name__)

SINGLE_PUT_MAX = 8 << 20  # larger files are uploaded as staged blocks
BLOCK_SIZE = 4 << 20
BLOCK_THREADS = 8
BLOCKS_IN_MEMORY = 16  # across all files: bounds memory to BLOCKS_IN_MEMORY * BLOCK_SIZE
POOL_CONNECTIONS = 64
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
    """What every store on one container shares: the client, how it authenticates, and state."""

    location: BlobLocation
    auth: str  # "key" | "sas" | "token"
    credential: object
    client: object  # azure.storage.blob.ContainerClient
    container_missing: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    block_pool: ThreadPoolExecutor | None = None
    block_budget: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(BLOCKS_IN_MEMORY))

    def blocks(self) -> ThreadPoolExecutor:
        with self.lock:
            if self.block_pool is None:
                self.block_pool = ThreadPoolExecutor(BLOCK_THREADS, thread_name_prefix="azrender-block")
            return self.block_pool


def _resolve_credential(loc: BlobLocation, connection_string: str | None, credential) -> tuple[str, object]:
    if credential is not None:
        if isinstance(credential, str):
            register_secret(credential)
            return "key", {"account_name": loc.account, "account_key": credential}
        return ("key" if hasattr(credential, "named_key") else "token"), credential
    text = connection_string or os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if text:
        register_secret(text)
        fields = _connection_string_fields(text)
        named = fields.get("accountname")
        if named and named != loc.account:
            raise UsageError(f"the connection string is for account {named!r}, the URL for {loc.account!r}")
        if fields.get("accountkey"):
            register_secret(fields["accountkey"])
            return "key", {"account_name": loc.account, "account_key": fields["accountkey"]}
        if fields.get("sharedaccesssignature"):
            register_secret(fields["sharedaccesssignature"])
            return "sas", fields["sharedaccesssignature"]
        raise UsageError("the connection string has neither AccountKey nor SharedAccessSignature")
    if os.environ.get("AZURE_STORAGE_KEY"):
        register_secret(os.environ["AZURE_STORAGE_KEY"])
        return "key", {"account_name": loc.account, "account_key": os.environ["AZURE_STORAGE_KEY"]}
    if loc.sas:
        register_secret(loc.sas)
        return "sas", loc.sas
    if loc.account == EMULATOR_ACCOUNT and _is_emulator_host(urlsplit(loc.account_url).hostname or ""):
        return "key", {"account_name": EMULATOR_ACCOUNT, "account_key": EMULATOR_KEY}
    if not loc.account_url.startswith("https://"):
        raise UsageError(f"{loc.account_url}/{loc.container}: no credentials for a plain-http endpoint",
                         hint="set AZURE_STORAGE_CONNECTION_STRING or put a SAS in the URL")
    from azure.identity import DefaultAzureCredential

    return "token", DefaultAzureCredential()


def _container_client(loc: BlobLocation, credential):
    import requests
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.pipeline.transport._requests_basic import BiggerBlockSizeHTTPAdapter
    from azure.storage.blob import ContainerClient, ExponentialRetry
    from urllib3.util.retry import Retry

    session = requests.Session()
    adapter = BiggerBlockSizeHTTPAdapter(pool_connections=4, pool_maxsize=POOL_CONNECTIONS,
                                         max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    retries = int(os.environ.get("AZRENDER_STORE_RETRIES", "4"))
    return ContainerClient(
        loc.account_url, loc.container, credential=credential,
        transport=RequestsTransport(session=session),
        retry_policy=ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=retries, random_jitter_range=1),
        connection_timeout=10, read_timeout=120,
    )


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
        return cls(_Account(loc, auth, cred, _container_client(loc, cred)), loc.prefix)

    # ---- helpers ------------------------------------------------------------------------------

    def _name(self, key: str) -> str:
        return layout.join(self.prefix, key)

    def _blob(self, key: str):
        return self._account.client.get_blob_client(self._name(key))

    def _error(self, exc: Exception, what: str) -> StoreError:
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

        where = self.display_url
        if isinstance(exc, ServiceRequestError):
            return StoreError(f"cannot reach {where} while {what}: {_first_line(exc)}",
                              hint="check the URL and the network; the next run continues where this one stopped")
        if isinstance(exc, ClientAuthenticationError) or getattr(exc, "status_code", None) == 403:
            return StoreError(f"{where}: access denied while {what} ({getattr(exc, 'error_code', None) or 'forbidden'})",
                              hint="check the key, SAS (permissions, expiry) or your Azure role on the container")
        if isinstance(exc, HttpResponseError):
            code = getattr(exc, "error_code", None) or exc.reason
            return StoreError(f"{where}: {what} failed after retries: HTTP {exc.status_code} {code}")
        return StoreError(f"{where}: {what} failed: {type(exc).__name__}: {_first_line(exc)}")

    def _ensure_container(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        acct = self._account
        if acct.container_missing:
            with acct.lock:
                if acct.container_missing:
                    try:
                        acct.client.create_container()
                    except ResourceExistsError:
                        pass
                    acct.container_missing = False

    def _retry_on_missing_container(self, action):
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return action()
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) != "ContainerNotFound":
                raise
            self._account.container_missing = True
            self._ensure_container()
            return action()

    # ---- Store --------------------------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        base = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        try:
            blobs = list(self._account.client.list_blobs(name_starts_with=base or None, include=["metadata"]))
        except ResourceNotFoundError:
            self._account.container_missing = True  # created on the first write
            return iter(())
        except AzureError as exc:
            raise self._error(exc, "listing") from None
        from azrender.layout import HASH_METADATA_KEY

        return iter([StoredObject(b.name[strip:], b.size, (b.metadata or {}).get(HASH_METADATA_KEY), b.last_modified)
                     for b in blobs])

    def upload_file(self, path, key, content_hash, progress=None) -> Transfer:
        from azure.core.exceptions import AzureError

        path = Path(path)
        size = os.stat(path).st_size
        self._ensure_container()
        try:
            if size <= SINGLE_PUT_MAX:
                data = b"".join(hashing.read_verified(path, content_hash))
                self._retry_on_missing_container(lambda: self._put(key, data, content_hash))
                if progress:
                    progress(len(data))
                return Transfer(key, len(data), content_hash, len(data))
            return self._retry_on_missing_container(lambda: self._upload_blocks(path, key, content_hash, progress))
        except AzureError as exc:
            raise self._error(exc, f"uploading {key}") from None

    def _put(self, key: str, data: bytes, content_hash: str) -> None:
        from azrender.layout import HASH_METADATA_KEY

        self._blob(key).upload_blob(data, overwrite=True, metadata={HASH_METADATA_KEY: content_hash},
                                    length=len(data), max_concurrency=1)

    def _upload_blocks(self, path: Path, key: str, content_hash: str, progress: ByteProgress | None) -> Transfer:
        from azure.core.exceptions import ResourceNotFoundError
        from azure.storage.blob import BlobBlock

        from azrender.layout import HASH_METADATA_KEY

        blob = self._blob(key)
        try:
            staged = {b.id: b.size for b in blob.get_block_list("uncommitted")[1]}
        except ResourceNotFoundError:
            staged = {}
        pool, budget = self._account.blocks(), self._account.block_budget
        ids: list[str] = []
        futures = []
        errors: list[Exception] = []
        size = sent = 0

        def stage(block_id: str, data: bytes) -> None:
            try:
                blob.stage_block(block_id, data, length=len(data))
                if progress:
                    progress(len(data))
            except Exception as exc:
                errors.append(exc)
                raise
            finally:
                budget.release()

        try:
            for index, data in enumerate(hashing.read_verified(path, content_hash, BLOCK_SIZE)):
                if errors:
                    break  # a block failed after retries: stop reading, commit nothing
                size += len(data)
                # The id names the block's content: a staged block with this id holds these bytes.
                block_id = base64.b64encode(f"{index:06d}-{hashing.hash_bytes(data)}".encode()).decode()
                ids.append(block_id)
                if staged.get(block_id) == len(data):
                    if progress:
                        progress(len(data))
                    continue
                budget.acquire()
                futures.append(pool.submit(stage, block_id, data))
                sent += len(data)
        finally:
            for future in futures:  # never leave a staging thread writing after we return
                future.exception()
        for future in futures:
            future.result()
        blob.commit_block_list([BlobBlock(block_id=i) for i in ids], metadata={HASH_METADATA_KEY: content_hash})
        return Transfer(key, size, content_hash, sent)

    def download_file(self, key, dest, progress=None) -> Transfer:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        from azrender.layout import HASH_METADATA_KEY

        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = partial_path(dest)
        hasher = hashing.new_hasher()
        size = 0
        try:
            stream = self._blob(key).download_blob(max_concurrency=4)
            expected = (stream.properties.metadata or {}).get(HASH_METADATA_KEY)
            with open(tmp, "wb") as out:
                for chunk in stream.chunks():
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                    if progress:
                        progress(len(chunk))
            digest = hasher.hexdigest()
            if expected and digest != expected:
                raise StoreError(f"{self.display_url}/{key}: downloaded bytes do not match the recorded hash "
                                 "(the blob was replaced meanwhile or is corrupt); run again")
            os.replace(tmp, dest)
        except ResourceNotFoundError:
            raise StoreError(f"{self.display_url}/{key} does not exist") from None
        except AzureError as exc:
            raise self._error(exc, f"downloading {key}") from None
        finally:
            tmp.unlink(missing_ok=True)
        return Transfer(key, size, digest, size)

    def read_bytes(self, key: str) -> bytes:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            return self._blob(key).download_blob().readall()
        except ResourceNotFoundError:
            raise StoreError(f"{self.display_url}/{key} does not exist") from None
        except AzureError as exc:
            raise self._error(exc, f"reading {key}") from None

    def write_bytes(self, key: str, data: bytes) -> None:
        from azure.core.exceptions import AzureError

        self._ensure_container()
        try:
            self._retry_on_missing_container(lambda: self._put(key, data, hashing.hash_bytes(data)))
        except AzureError as exc:
            raise self._error(exc, f"writing {key}") from None

    def delete(self, key: str) -> None:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            self._blob(key).delete_blob()
        except ResourceNotFoundError:
            pass
        except AzureError as exc:
            raise self._error(exc, f"deleting {key}") from None

    def child(self, prefix: str) -> "AzureBlobStore":
        return AzureBlobStore(self._account, layout.join(self.prefix, prefix))

    def node_access_url(self, permissions: str, expiry: datetime) -> str:
        from azure.core.exceptions import AzureError
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        if not permissions or set(permissions) - _SAS_PERMISSIONS:
            raise UsageError(f"SAS permissions {permissions!r}: use letters from 'racwdl'")
        acct, loc = self._account, self._account.location
        container_url = f"{loc.account_url}/{loc.container}"
        if acct.auth == "sas":
            log.info("using the SAS the store was opened with for render nodes, as given")
            return f"{container_url}?{acct.credential}"
        start = datetime.now(timezone.utc) - timedelta(minutes=5)  # tolerate node clock skew
        permission = ContainerSasPermissions.from_string(permissions)
        if acct.auth == "key":
            sas = generate_container_sas(loc.account, loc.container, account_key=_account_key(acct.credential),
                                         permission=permission, start=start, expiry=expiry)
        else:
            from azure.storage.blob import BlobServiceClient

            try:
                service = BlobServiceClient(loc.account_url, credential=acct.credential)
                delegation = service.get_user_delegation_key(start, expiry)
            except AzureError as exc:
                raise self._error(exc, "getting a user delegation key for node access") from None
            sas = generate_container_sas(loc.account, loc.container, user_delegation_key=delegation,
                                         permission=permission, start=start, expiry=expiry)
        register_secret(sas)
        return f"{container_url}?{sas}"

    def describe_account(self) -> AccountInfo | None:
        from azure.core.exceptions import AzureError

        from azrender.dirs import cache_dir

        loc = self._account.location
        memo_path = cache_dir() / "accounts.json"
        try:
            memo = json.loads(memo_path.read_text())
        except (OSError, ValueError):
            memo = {}
        known = memo.get(loc.account_url)
        if isinstance(known, dict) and {"kind", "sku"} <= known.keys():
            return AccountInfo(known["kind"], known["sku"])
        try:
            info = self._account.client.get_account_information()
        except AzureError as exc:
            log.debug("could not read the account kind of %s: %s", loc.account_url, _first_line(exc))
            return None
        result = AccountInfo(info.get("account_kind") or "unknown", info.get("sku_name") or "unknown")
        if result.kind == "Storage":
            log.warning("%s is a general-purpose v1 storage account (%s): its lower request and bandwidth "
                        "limits throttle rendering on many nodes; upgrade it to general-purpose v2",
                        loc.account_url, result.sku)
        memo[loc.account_url] = {"kind": result.kind, "sku": result.sku}
        try:
            memo_path.write_text(json.dumps(memo, sort_keys=True))
        except OSError:
            pass
        return result


def _account_key(credential) -> str:
    if isinstance(credential, dict):
        return credential["account_key"]
    return credential.named_key.key  # AzureNamedKeyCredential


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
