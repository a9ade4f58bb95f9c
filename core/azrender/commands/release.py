"""``azrender release JOB``: render the rest of a held job (scout frames checked by eye, or a
budget raised)."""

from __future__ import annotations

import json

HELP = "render the held tasks of a job (after its scout frames, or past its budget)"


def register(parser) -> None:
    parser.add_argument("job", help="job id")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--budget", type=float, metavar="AMOUNT", help="a new budget for the job")
    group.add_argument("--no-budget", action="store_true", help="no budget any more: render everything")
    parser.add_argument("--json", action="store_true", help="print the job's gate as JSON")


def run(args) -> int:
    from azrender.watch import gate
    from azrender.watch.view import watch_json, watch_lines

    record = gate.release(args.job, budget=args.budget, no_budget=args.no_budget)
    if args.json:
        print(json.dumps({"job_id": record.job_id, **watch_json(record)}, indent=2))
        return 0
    print(f"{record.job_id}: released; {len(record.held)} task(s) still to add"
          if record.held else f"{record.job_id}: released; every task is in the job")
    for line in watch_lines(record):
        print(line)
    return 0
