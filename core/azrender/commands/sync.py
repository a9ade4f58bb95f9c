"""``azrender sync PATH... --to STORE_URL``: upload asset folders, only files whose content changed."""

from __future__ import annotations

import json

HELP = "Upload folders (or files) to a store, sending only files whose content changed."


def register(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="folder (stored as <folder name>/...) or file (stored as <its folder's name>/<file>)")
    parser.add_argument("--to", required=True, metavar="STORE_URL",
                        help="file:///folder, https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX] or an Azurite URL; "
                             "credentials from AZURE_STORAGE_CONNECTION_STRING, a SAS in the URL, or az login")
    parser.add_argument("--delete", action="store_true",
                        help="also delete stored files under the same folders that no longer exist here")
    parser.add_argument("--dry-run", action="store_true", help="list what would be uploaded and deleted; change nothing")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--allow-path", action="append", default=[], metavar="PATH",
                        help="send files under PATH even though it is a system or credential location; repeatable")
    parser.add_argument("--workers", type=int, default=None, metavar="N", help="parallel transfers (default 16)")


def run(args) -> int:
    from azrender.sync import engine
    from azrender.errors import UsageError
    from azrender.sync.entries import collect_entries, store_inside
    from azrender.sync.progress import terminal_bar
    from azrender.sync.stores import open_store

    entries, folders = collect_entries(args.paths, args.allow_path)
    store = open_store(args.to)
    if inside := store_inside(store, args.paths):
        raise UsageError(inside)
    if args.dry_run:
        plan = engine.preview_upload(entries, store, delete=args.delete)
        if args.json:
            print(json.dumps({"upload": [f.key for f in plan.upload], "delete": list(plan.delete),
                              "skip": len(plan.skip), "bytes": plan.bytes_to_upload}))
        else:
            from rich.filesize import decimal as size

            for f in plan.upload:
                print(f"upload {f.key} ({size(f.size)})")
            for key in plan.delete:
                print(f"delete {key}")
            print(f"would upload {len(plan.upload)} files ({size(plan.bytes_to_upload)}), "
                  f"delete {len(plan.delete)}, leave {len(plan.skip)} unchanged in {store.display_url}")
        return 0
    with terminal_bar("sync", enabled=not args.json) as progress:
        result = engine.upload(entries, store, delete=args.delete, progress=progress, workers=args.workers,
                               root_manifests=folders)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        from rich.filesize import decimal as size

        deleted = f", {result.deleted} deleted" if result.deleted else ""
        print(f"{result.files} files in {store.display_url}: {result.uploaded} uploaded "
              f"({size(result.bytes_uploaded)}), {result.skipped} unchanged{deleted} "
              f"in {result.seconds:.1f} s")
    return 0
