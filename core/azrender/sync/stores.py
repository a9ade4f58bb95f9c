"""Where synced files live, behind one small interface: a local folder or an Azure Blob container.

:func:`open_store` turns a URL into a :class:`~azrender.sync.store.Store` (the interface):

- ``file:///dir[/prefix]`` (or a plain folder path): :class:`~.local_store.LocalStore`
- ``https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX][?SAS]``: Azure Blob storage
- ``http://127.0.0.1:PORT/devstoreaccount1/CONTAINER[/PREFIX]``: Azurite (path-style emulator URL)
- ``smb://[USER@]HOST[:PORT]/SHARE[/PREFIX]``, ``\\\\HOST\\SHARE\\PREFIX`` or
  ``https://ACCOUNT.file.core.windows.net/SHARE[/PREFIX]``: an SMB 3 share (:mod:`~.smb_store`)

Keys are '/'-separated and relative to the store's root (the URL's prefix). Every object carries
the xxh3-128 hash of its content (blob metadata :data:`azrender.layout.HASH_METADATA_KEY`), and a
write is never visible until it is complete and verified.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from azrender.errors import UsageError
from azrender.sync.store import Store


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
    from azrender.sync.smb_store import is_smb_url

    if is_smb_url(text):
        from azrender.sync.smb_store import SmbStore

        return SmbStore.open(text)
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
                     "CONTAINER[/PREFIX], smb://HOST/SHARE[/PREFIX] or an Azurite http://127.0.0.1:PORT/devstoreaccount1/CONTAINER URL)")


def _file_url_path(path: str) -> Path:
    from urllib.request import url2pathname

    local = url2pathname(path) if path else ""
    if not local:
        raise UsageError("file:// store URL has no folder (use file:///path/to/folder)")
    return Path(local)
