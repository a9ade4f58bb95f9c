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

    store = open_store(args.store_url)
    root = getattr(store, "root", None)  # a folder store: a mistyped path must not look like "0 files"
    exists = getattr(store, "exists", None)  # a share's folder, likewise
    if (root is not None and not root.is_dir()) or (exists is not None and not exists()):
        raise StoreError(f"{store.display_url}: no such store folder")
    dest = Path(os.path.expanduser(args.dest))  # an unknown ~user stays as typed
    with terminal_bar("fetch", enabled=not args.json) as progress:
        result = engine.download(store, dest, progress=progress, workers=args.workers)
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
