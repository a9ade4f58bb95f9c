"""``azrender gc [STORE_URL] [--older-than 30d] [--dry-run]``: delete stored content no manifest
needs any more (see :mod:`azrender.sync.gc`); safe while syncs and jobs run."""

from __future__ import annotations

import json

HELP = "delete stored content that no folder, recent submission or running job needs; says what it freed"


def register(parser) -> None:
    parser.add_argument("store", nargs="?", metavar="STORE_URL",
                        help="the store (default: the profile's storage_url, else the local store)")
    parser.add_argument("--older-than", default="30d", metavar="AGE",
                        help="retention: keep what submissions younger than this need, and younger content (default 30d)")
    parser.add_argument("--dry-run", action="store_true", help="say what would be deleted; delete nothing")
    parser.add_argument("--profile", help="settings profile (config.toml)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def unfinished(job_id: str) -> bool:
    """Whether a job submitted from this machine may still read its files (unknown: yes)."""
    from azrender import jobrecord
    from azrender.errors import AzrenderError

    try:
        record = jobrecord.load(job_id)
        if record is None:
            return False  # not submitted from here: its manifest's age decides
        if record.backend != "local":
            return True  # finding out needs the Batch account: keep its files
        from azrender.backends.local import LocalBatchClient

        return not LocalBatchClient(record.local_root).status(job_id).done
    except (AzrenderError, OSError):
        return True


def run(args) -> int:
    from rich.filesize import decimal as size

    from azrender.backends.local.backend import default_store
    from azrender.settings import load_settings
    from azrender.sync import gc
    from azrender.sync.stores import open_store

    older_than = gc.parse_age(args.older_than)
    url = args.store or load_settings(args.profile).storage_url or default_store()
    store = open_store(url)
    result = gc.collect(store, older_than=older_than, dry_run=args.dry_run, unfinished=unfinished)
    if args.json:
        print(json.dumps({**result.to_json(), "dry_run": args.dry_run,
                          **({"would_free_bytes": result.plan.bytes} if args.dry_run else {})}))
    elif args.dry_run:
        print(f"would delete {len(result.plan.delete)} stored files ({size(result.plan.bytes)}) from {store.display_url}; "
              f"{result.plan.kept} kept for {result.plan.manifests} manifests")
    else:
        print(f"deleted {result.deleted} stored files, freed {size(result.freed_bytes)} in {store.display_url}; "
              f"{result.plan.kept} kept for {result.plan.manifests} manifests")
    return 0
