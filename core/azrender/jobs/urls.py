"""Store URLs as render nodes use them: a container URL with an optional prefix and SAS query
(``https://acct.blob.core.windows.net/renders/show1?sv=...``, Azurite's path-style
``http://127.0.0.1:10000/devstoreaccount1/renders/show1?...``), ``file:///srv/store``, or an SMB
share (``smb://...``, ``https://ACCOUNT.file.core.windows.net/SHARE/...``) that nodes mount.
Parsing is the sync stage's (:func:`azrender.sync.azure_store.parse_blob_url`)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass


@dataclass(frozen=True)
class StoreUrl:
    container_url: str  # without query
    prefix: str
    query: str  # SAS query string without '?', or ""
    account: str | None = None  # None for a local folder (and a share that is not Azure Files)
    container: str = ""  # or the share
    is_share: bool = False  # an SMB share (nodes reach it through a pool mount, never by URL)

    @property
    def base(self) -> str:
        """The store URL without its SAS (safe in a command line)."""
        return f"{self.container_url}/{self.prefix}" if self.prefix else self.container_url

    def blob_url(self, key: str) -> str:
        url = f"{self.container_url}/{urllib.parse.quote(self.key(key), safe='/~')}"
        return f"{url}?{self.query}" if self.query else url

    def container_url_with_sas(self) -> str:
        return f"{self.container_url}?{self.query}" if self.query else self.container_url

    def key(self, *parts: str) -> str:
        """A blob path inside the container (prefix included)."""
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p and p.strip("/"))


def parse_store_url(url: str) -> StoreUrl:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return StoreUrl(urllib.parse.urlunsplit(("file", parts.netloc, parts.path.rstrip("/"), "", "")), "", "")
    from azrender.sync.smb_store import is_smb_url, parse_smb_url

    if is_smb_url(url):
        share = parse_smb_url(url)
        root = share.display_url[: -len(share.prefix) - 1] if share.prefix else share.display_url
        return StoreUrl(root, share.prefix, "", share.azure_account, share.share, is_share=True)
    from azrender.sync.azure_store import parse_blob_url

    loc = parse_blob_url(url)
    return StoreUrl(f"{loc.account_url}/{loc.container}", loc.prefix, loc.sas or "", loc.account, loc.container)
