"""``azrender fetch STORE_URL --dest DIR``: download a store's files, only those that differ."""

from __future__ import annotations

import json

HELP = "Download files from a store into a folder, only those missing or different locally."


def register(parser) -> None:
    parser.add_argument("store_url", metavar="STORE_URL",
                        help="file:///folder, https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX], an Azurite URL "
                             "or smb://[USER@]HOST[:PORT]/SHARE[/PREFIX]")
    parser.add_argument("--dest", required=True, metavar="DIR", help="folder to write into (created if needed)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--workers", type=int, default=None, metavar="N", help="parallel transfers (default 16)")


def run(args) -> int:
    import os
    from pathlib import Path

    from azrender.errors import StoreError
    from azrender.sync import engine
    from azrender.sync.progress import terminal_bar
    from azrender.sync.stores import open_store

    store, prefix = _synced_folder(args.store_url) or (open_store(args.store_url), "")
    root = getattr(store, "root", None)  # a folder store: a mistyped path must not look like "0 files"
    exists = getattr(store, "exists", None)  # a share's folder, likewise
    if (root is not None and not root.is_dir()) or (exists is not None and not exists()):
        raise StoreError(f"{store.display_url}: no such store folder")
    dest = Path(os.path.expanduser(args.dest))  # an unknown ~user stays as typed
    with terminal_bar("fetch", enabled=not args.json) as progress:
        result = engine.download(store, dest, prefix=prefix, progress=progress, workers=args.workers)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        from rich.filesize import decimal as size

        print(f"{result.files} files from {store.display_url}: {result.downloaded} downloaded "
              f"({size(result.bytes_downloaded)}), {result.skipped} unchanged in {result.seconds:.1f} s")
    if result.refused:
        shown = "; ".join(result.refused[:5]) + (f" (and {len(result.refused) - 5} more)" if len(result.refused) > 5 else "")
        raise StoreError(f"refused {len(result.refused)} stored name(s) that would be written outside {dest}: {shown}")
    return 0


def _synced_folder(url: str):
    """``(the store above, folder name)`` when ``url`` names a folder synced by content (its files
    are listed by ``<folder>.manifest.json`` beside it, not stored under it), else None."""
    from azrender.errors import AzrenderError
    from azrender.sync.stores import open_store

    base, sep, query = url.partition("?")
    parent, _, name = base.rstrip("/").rpartition("/")
    if not name or parent.endswith(":") or parent.endswith(":/") or "/" not in parent.partition("://")[2]:
        return None
    try:
        store = open_store(parent + sep + query)
        return (store, name) if store.stat(f"{name}.manifest.json") is not None else None
    except AzrenderError:  # the parent is no store (an account URL) or cannot be read: fetch the URL as given
        return None
