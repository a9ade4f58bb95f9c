"""``azrender migrate STORE_URL``: move a store in the older keyed layout to content-addressed storage."""

from __future__ import annotations

import json

HELP = "move a store written by earlier azrender into content-addressed storage (nothing is uploaded twice after)"


def register(parser) -> None:
    parser.add_argument("store", metavar="STORE_URL", help="the store to migrate")
    parser.add_argument("--delete-old", action="store_true",
                        help="then delete the old <folder>/<path> and assets/ copies (once no job of the old layout runs)")
    parser.add_argument("--dry-run", action="store_true", help="say what would be copied; change nothing")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def run(args) -> int:
    from rich.filesize import decimal as size

    from azrender.sync import migrate
    from azrender.sync.stores import open_store

    store = open_store(args.store)
    plan = migrate.plan_migration(store.list(""), store.read_bytes)
    if not args.dry_run:
        migrate.migrate(store, plan, delete_old=args.delete_old)
    summary = {"copied": len(plan.copy), "bytes": plan.bytes, "manifests": len(plan.heads),
               "old_deleted": len(plan.old) if args.delete_old and not args.dry_run else 0, "dry_run": args.dry_run}
    if args.json:
        print(json.dumps(summary))
    else:
        verb = "would copy" if args.dry_run else "copied"
        print(f"{verb} {len(plan.copy)} stored files ({size(plan.bytes)}) to content-addressed storage in "
              f"{store.display_url}; {len(plan.heads)} folder manifest(s) rewritten"
              + (f"; {summary['old_deleted']} old copies deleted" if summary["old_deleted"] else ""))
    return 0
