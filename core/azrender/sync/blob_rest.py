"""The few Blob REST operations sync needs, on the standard library (http.client + ElementTree).

Why not azure-storage-blob here: importing it costs ~0.25 s and decoding a 5,000-blob listing
through its generic deserializer ~1 s, which is the whole budget of a no-change sync. The SDK is
still used where it earns its cost (SAS generation, user-delegation keys, azure-identity tokens).

Authentication: SharedKey (account key), a SAS query string, or a bearer token from any
azure-identity credential. Retries: connection errors, 408, 429 and 5xx, with exponential backoff
and jitter, ``retries`` times; then :class:`Unreachable` or :class:`BlobHttpError`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from azrender.node import retry

API_VERSION = "2021-08-06"
_SIGNED_HEADERS = ("Content-Encoding", "Content-Language", "Content-Length", "Content-MD5", "Content-Type", "Date",
                   "If-Modified-Since", "If-Match", "If-None-Match", "If-Unmodified-Since", "Range")


class BlobHttpError(Exception):
    def __init__(self, status: int, code: str | None, message: str):
        super().__init__(f"HTTP {status} {code or ''}".strip() + (f": {message}" if message else ""))
        self.status, self.code = status, code


class Unreachable(Exception):
    """No HTTP answer at all (refused, DNS, TLS, timeout) after the retries."""


@dataclass(frozen=True)
class ListedBlob:
    name: str
    size: int
    metadata: dict[str, str]
    last_modified: datetime | None
    etag: str | None = None


class SharedKey:
    def __init__(self, account: str, key: str):
        self.account, self._key = account, base64.b64decode(key)

    def apply(self, method: str, path: str, query: dict, headers: dict) -> None:
        signed = [headers.get(h, "") for h in _SIGNED_HEADERS]
        if signed[2] == "0":  # Content-Length 0 is signed as empty since 2015-02-21
            signed[2] = ""
        ms = "".join(f"{k.lower()}:{v}\n" for k, v in sorted(headers.items(), key=lambda kv: kv[0].lower())
                     if k.lower().startswith("x-ms-"))
        resource = f"/{self.account}{path}" + "".join(f"\n{k.lower()}:{v}" for k, v in sorted(query.items()))
        to_sign = "\n".join([method, *signed]) + "\n" + ms + resource
        digest = hmac.new(self._key, to_sign.encode("utf-8"), hashlib.sha256).digest()
        headers["Authorization"] = f"SharedKey {self.account}:{base64.b64encode(digest).decode()}"


class Sas:
    def __init__(self, token: str):
        self.params = dict(parse_qsl(token.lstrip("?"), keep_blank_values=True))

    def apply(self, method, path, query, headers) -> None:
        query.update(self.params)


class Bearer:
    """A token from an azure-identity credential, refreshed five minutes before it expires."""

    def __init__(self, credential):
        self._credential, self._token, self._lock = credential, None, threading.Lock()

    def apply(self, method, path, query, headers) -> None:
        with self._lock:
            if self._token is None or self._token.expires_on - 300 < time.time():
                self._token = self._credential.get_token("https://storage.azure.com/.default")
            headers["Authorization"] = f"Bearer {self._token.token}"


class BlobContainer:
    """One container at ``account_url`` (``https://acct.blob.core.windows.net`` or a path-style
    emulator URL), with a keep-alive connection per thread."""

    def __init__(self, account_url: str, container: str, auth, *, retries: int = 4, timeout: float = 60):
        parts = urlsplit(account_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port
        self.base_path = parts.path.rstrip("/") + "/" + container
        self.auth, self.retries, self.timeout = auth, retries, timeout
        self._local = threading.local()

    # ---- transport ----------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = self._local.conn = cls(self.host, self.port, timeout=self.timeout)
        return conn

    def drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def request(self, method: str, blob: str | None = None, *, query: dict | None = None,
                headers: dict | None = None, body: bytes | list = b"", ok=(200, 201, 202),
                stream: bool = False) -> http.client.HTTPResponse:
        """Send one request (retrying); the response is fully read unless ``stream``. ``body``: bytes,
        or a list of buffers sent one after another (each retry sends them again)."""
        path = self.base_path + (("/" + quote(blob, safe="/~")) if blob is not None else "")
        for attempt in range(self.retries + 1):
            q = dict(query or {})
            h = {"x-ms-date": _http_date(), "x-ms-version": API_VERSION, **(headers or {})}
            if body or method in ("PUT", "POST"):
                h["Content-Length"] = str(sum(map(len, body)) if isinstance(body, list) else len(body))
            self.auth.apply(method, path, q, h)
            url = path + ("?" + urlencode(q, quote_via=quote) if q else "")
            try:
                conn = self._connection()
                conn.request(method, url, body=body or None, headers=h)
                response = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                self.drop_connection()
                if attempt == self.retries:
                    raise Unreachable(f"{type(exc).__name__}: {exc}") from None
                self._backoff(attempt)
                continue
            if response.status in ok:
                if not stream:
                    response.body = response.read()  # type: ignore[attr-defined]
                return response
            data = response.read()
            if response.status in retry.RETRY_STATUS and attempt < self.retries:
                self._backoff(attempt, response.getheader("Retry-After"))
                continue
            code = response.getheader("x-ms-error-code")
            raise BlobHttpError(response.status, code, _error_message(data) or response.reason)
        raise AssertionError("unreachable")

    @staticmethod
    def _backoff(attempt: int, retry_after: str | None = None) -> None:
        time.sleep(retry.delay(attempt, retry_after))

    # ---- operations ---------------------------------------------------------------------------

    def list_blobs(self, prefix: str, page_size: int = 5000) -> Iterator[ListedBlob]:
        """Every blob under ``prefix``, one page of ``page_size`` at a time, asked for as it is read."""
        marker = ""
        while True:
            query = {"restype": "container", "comp": "list", "include": "metadata", "maxresults": str(page_size)}
            if prefix:
                query["prefix"] = prefix
            if marker:
                query["marker"] = marker
            root = ET.fromstring(self.request("GET", query=query).body)  # type: ignore[attr-defined]
            for blob in root.iterfind("Blobs/Blob"):
                props = blob.find("Properties")
                modified = props.findtext("Last-Modified") if props is not None else None
                yield ListedBlob(
                    name=blob.findtext("Name") or "",
                    size=int(props.findtext("Content-Length") or 0) if props is not None else 0,
                    metadata={m.tag: m.text or "" for m in blob.iterfind("Metadata/*")},
                    last_modified=_parse_http_date(modified) if modified else None,
                    etag=props.findtext("Etag") if props is not None else None,
                )
            marker = root.findtext("NextMarker") or ""
            if not marker:
                return

    def put_blob(self, name: str, data: bytes | list, metadata: dict[str, str]) -> None:
        headers = {"x-ms-blob-type": "BlockBlob", **{f"x-ms-meta-{k}": v for k, v in metadata.items()}}
        self.request("PUT", name, headers=headers, body=data)

    def stage_block(self, name: str, block_id: str, data: bytes) -> None:
        self.request("PUT", name, query={"comp": "block", "blockid": block_id}, body=data)

    def uncommitted_blocks(self, name: str) -> dict[str, int]:
        try:
            body = self.request("GET", name, query={"comp": "blocklist", "blocklisttype": "uncommitted"}).body
        except BlobHttpError as exc:
            if exc.status == 404:
                return {}
            raise
        root = ET.fromstring(body)
        return {b.findtext("Name") or "": int(b.findtext("Size") or 0) for b in root.iterfind("UncommittedBlocks/Block")}

    def commit_blocks(self, name: str, block_ids: list[str], metadata: dict[str, str]) -> None:
        body = ('<?xml version="1.0" encoding="utf-8"?><BlockList>'
                + "".join(f"<Latest>{i}</Latest>" for i in block_ids) + "</BlockList>").encode()
        headers = {"Content-Type": "application/xml", **{f"x-ms-meta-{k}": v for k, v in metadata.items()}}
        self.request("PUT", name, query={"comp": "blocklist"}, headers=headers, body=body)

    def get_blob(self, name: str) -> http.client.HTTPResponse:
        """The blob's response, streaming: read it to the end before the next request."""
        return self.request("GET", name, stream=True, ok=(200,))

    def head_blob(self, name: str) -> ListedBlob | None:
        """The blob's size, metadata, time and ETag from one HEAD request; None when it does not exist."""
        try:
            response = self.request("HEAD", name, ok=(200,))
        except BlobHttpError as exc:
            if exc.status == 404:
                return None
            raise
        meta = {k[len("x-ms-meta-"):]: v for k, v in response.getheaders() if k.lower().startswith("x-ms-meta-")}
        modified = response.getheader("Last-Modified")
        return ListedBlob(name, int(response.getheader("Content-Length") or 0), meta,
                          _parse_http_date(modified) if modified else None, response.getheader("ETag"))

    def delete_blob(self, name: str) -> None:
        try:
            self.request("DELETE", name)
        except BlobHttpError as exc:
            if exc.status != 404:
                raise

    def create_container(self) -> None:
        try:
            self.request("PUT", query={"restype": "container"})
        except BlobHttpError as exc:
            if exc.status != 409:  # already exists
                raise

    def account_information(self) -> tuple[str, str]:
        """(account kind, SKU name) from the Get Account Information call."""
        response = self.request("GET", query={"restype": "account", "comp": "properties"})
        return response.getheader("x-ms-account-kind") or "unknown", response.getheader("x-ms-sku-name") or "unknown"


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _http_date() -> str:
    """RFC 1123 date of now (email.utils would cost more import time than a whole request)."""
    t = time.gmtime()
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


def _parse_http_date(text: str) -> datetime | None:
    """'Wed, 26 Nov 2026 08:40:00 GMT' -> aware UTC datetime (None if not in that form)."""
    try:
        _, day, month, year, clock, _ = text.split()
        hour, minute, second = clock.split(":")
        return datetime(int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second),
                        tzinfo=timezone.utc)
    except ValueError:
        return None


def _error_message(data: bytes) -> str:
    try:
        return (ET.fromstring(data).findtext("Message") or "").splitlines()[0]
    except (ET.ParseError, IndexError):
        return ""

