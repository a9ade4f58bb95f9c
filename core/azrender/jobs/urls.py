"""Store URLs as nodes see them: a container URL with an optional prefix and SAS query, e.g.
``https://acct.blob.core.windows.net/renders/show1?sv=...`` or Azurite's path-style
``http://127.0.0.1:10000/devstoreaccount1/renders/show1?...``, or ``file:///srv/store``."""

from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass


@dataclass(frozen=True)
class StoreUrl:
    container_url: str  # without query
    prefix: str
    query: str  # SAS query string without '?', or ""

    @property
    def is_file(self) -> bool:
        return self.container_url.startswith("file:")

    @property
    def account(self) -> str | None:
        parts = urllib.parse.urlsplit(self.container_url)
        if self.is_file:
            return None
        return parts.path.strip("/").split("/")[0] if _path_style(parts.hostname) else parts.hostname.split(".")[0]

    @property
    def container(self) -> str:
        return self.container_url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def base(self) -> str:
        """The store URL without its SAS (safe in a command line)."""
        return f"{self.container_url}/{self.prefix}" if self.prefix else self.container_url

    def blob_url(self, key: str, *, with_sas: bool = True) -> str:
        path = "/".join(p for p in (self.prefix, key) if p)
        url = f"{self.container_url}/{urllib.parse.quote(path, safe='/~')}"
        return f"{url}?{self.query}" if with_sas and self.query else url

    def container_url_with_sas(self) -> str:
        return f"{self.container_url}?{self.query}" if self.query else self.container_url

    def key(self, *parts: str) -> str:
        """A blob path inside the container (prefix included)."""
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p and p.strip("/"))


def _path_style(host: str | None) -> bool:
    """Azurite and other emulators put the account in the path (IP address or localhost hosts)."""
    if not host or host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def parse_store_url(url: str) -> StoreUrl:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return StoreUrl(urllib.parse.urlunsplit(("file", parts.netloc, parts.path.rstrip("/"), "", "")), "", "")
    segments = [s for s in parts.path.split("/") if s]
    n = 2 if _path_style(parts.hostname) else 1
    if len(segments) < n:
        from azrender.errors import UsageError

        raise UsageError(f"store URL {urllib.parse.urlunsplit(parts._replace(query=''))} names no container")
    container = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + "/".join(segments[:n]), "", ""))
    return StoreUrl(container, "/".join(segments[n:]), parts.query)
