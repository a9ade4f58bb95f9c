"""Pre-render check on the node: every file the submission needs must be at its node path.

Run before the renderer, so a task whose assets did not arrive fails at once, naming them, rather
than rendering black frames and exiting 0::

    python -m azrender.node.check needed.json      # needed.json: ["$AZ_BATCH_NODE_SHARED_DIR/azrender/assets/..."]
    python3 azrender_node.pyz check needed.json    # the same, from the node tool

With ``--problems FILE`` (the preparation task's ``problems.json``: files whose stored copy was
corrupt, truncated or foreign even when fetched again) the task fails naming them and why.

Exit status 0 when all exist intact, 3 (azrender's "missing assets") otherwise. Standard library only.
"""

from __future__ import annotations

import json
import os
import sys

from .pathtext import expand

MISSING_EXIT_CODE = 3


def check_paths(paths) -> list[str]:
    """The node paths (environment variables expanded here) that are not existing files."""
    missing = []
    for path in paths:
        expanded = expand(path)
        if not os.path.isfile(expanded):
            missing.append(expanded)
    return missing


def register(parser) -> None:
    parser.add_argument("needed", help="JSON list of node paths the task needs ('-' reads stdin)")
    parser.add_argument("--problems", help="the preparation task's problems.json (files that did not arrive intact)")


def run(args) -> int:
    if args.problems:
        problems = read_problems(expand(args.problems))
        if problems:
            return _fail(f"{len(problems)} file(s) this job needs did not arrive intact on this node", problems)
    return check_listing(args.needed)


def _fail(what: str, items: list[str]) -> int:
    print(f"azrender check: {what}:", file=sys.stderr)
    for item in items:
        print(f"  {item}", file=sys.stderr)
    return MISSING_EXIT_CODE


def read_problems(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        return [f"cannot read {path}: {exc}"]
    problems = doc.get("problems") if isinstance(doc, dict) else None
    return [str(p) for p in problems] if isinstance(problems, list) else [f"{path}: malformed"]


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1:
        print("usage: check.py NEEDED.json  (a JSON list of node paths; '-' reads stdin)", file=sys.stderr)
        return 2
    return check_listing(argv[0])


def check_listing(source: str) -> int:
    """Check the paths listed in JSON file ``source``; print what is missing; the exit status."""
    try:
        if source == "-":
            paths = json.load(sys.stdin)
        else:
            with open(source, encoding="utf-8") as handle:
                paths = json.load(handle)
    except (OSError, ValueError) as exc:
        print(f"azrender check: cannot read {source}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        print(f"azrender check: {source} must hold a JSON list of paths", file=sys.stderr)
        return 2
    missing = check_paths(paths)
    if missing:
        return _fail(f"{len(missing)} of {len(paths)} files this task needs are missing on this node", missing)
    print(f"azrender check: all {len(paths)} files present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
