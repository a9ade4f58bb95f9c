"""``azrender sync PATH... --to STORE_URL``: store asset folders by content (each distinct file once,
see :mod:`azrender.sync.content`), sending only content the store does not hold; ``--verify``
reads back what the folders' manifests list and repairs it."""

from __future__ import annotations

import json

HELP = "Upload folders (or files) to a store, sending only files whose content changed."


def register(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="folder (stored as <folder name>/...) or file (stored as <its folder's name>/<file>)")
    parser.add_argument("--to", required=True, metavar="STORE_URL",
                        help="file:///folder, https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX], an Azurite URL, "
                             "or an SMB 3 share: smb://[USER@]HOST[:PORT]/SHARE[/PREFIX], \\\\HOST\\SHARE\\PREFIX; "
                             "credentials from AZURE_STORAGE_CONNECTION_STRING, a SAS in the URL, az login, "
                             "or AZRENDER_SMB_PASSWORD")
    parser.add_argument("--delete", action="store_true",
                        help="drop files that no longer exist here from the stored folders (gc frees their bytes)")
    parser.add_argument("--verify", action="store_true",
                        help="read back every stored file the folders list, check its hash, upload bad ones again")
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
    if args.verify:
        return _verify(entries, store, args)
    if args.dry_run:
        plan = engine.preview_content(entries, store, folders=folders, delete=args.delete)
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
        result = engine.sync_folders(entries, store, folders=folders, delete=args.delete, progress=progress,
                                     workers=args.workers)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        from rich.filesize import decimal as size

        deleted = f", {result.deleted} dropped" if result.deleted else ""
        print(f"{result.files} files in {store.display_url}: {result.uploaded} uploaded "
              f"({size(result.bytes_uploaded)}), {result.skipped} unchanged{deleted} "
              f"in {result.seconds:.1f} s")
    return 0


def _verify(entries, store, args) -> int:
    from azrender.errors import StoreError
    from azrender.sync import engine
    from azrender.sync.progress import terminal_bar

    with terminal_bar("verify", enabled=not args.json) as progress:
        result = engine.verify_folders(entries, store, workers=args.workers, progress=progress)
    if args.json:
        print(json.dumps({"checked": result.checked, "repaired": list(result.repaired),
                          "unrepairable": list(result.unrepairable)}))
    else:
        for key in result.repaired:
            print(f"repaired {key} (the stored copy was missing or corrupt)")
        print(f"verified {result.checked} stored files in {store.display_url}: {len(result.repaired)} repaired, "
              f"{len(result.unrepairable)} cannot be repaired from here")
    if result.unrepairable:
        raise StoreError("cannot repair: " + "; ".join(result.unrepairable[:5])
                         + (f" (and {len(result.unrepairable) - 5} more)" if len(result.unrepairable) > 5 else ""))
    return 0
