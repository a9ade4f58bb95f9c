"""``azrender jobs``: recent jobs on any backend, from any host, with their live state."""

from __future__ import annotations

import json

HELP = "list recent jobs (this machine and Azure Batch, from any host) with their live state"


def register(parser) -> None:
    parser.add_argument("-n", "--limit", type=int, default=20, help="how many (newest first; default 20)")
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def run(args) -> int:
    from azrender.joblist import recent_jobs

    rows = recent_jobs(args.limit)
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=2))
        return 0
    if not rows:
        print("no jobs yet (azrender submit SCENE)")
        return 0
    for row in rows:
        where = f" on {row.where}" if row.where else ""
        print(f"{row.job_id}  {row.state}{where}  {row.host} {row.scene}  {row.submitted}")
        if row.progress:
            print(f"    {row.progress}")
    return 0
