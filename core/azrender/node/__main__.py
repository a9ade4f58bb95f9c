"""``python3 azrender_node.pyz <subcommand> ...``: the node-side helper, standard library only.

To add a subcommand, add a row to SUBCOMMANDS: name -> (module in this package, help line); the
module provides ``register(parser)`` and ``run(args) -> int`` (the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = {
    "prep": ("prep", "job preparation: sync the node's asset cache to the manifest (or mount)"),
    "release": ("release", "job release: remove this job's files, keep the shared cache"),
    "check": ("check", "before rendering: fail at once, naming them, if files the task needs are missing"),
    "watch": ("watch", "run the renderer; kill it when it hangs or a frame runs away (exit 91 / 92)"),
    "blender-version": ("blender_version", "before rendering: fail at once if this Blender is older than the scene's"),
    "verify": ("verify", "after rendering: fail, naming them, if files the task had to write are missing or empty"),
    "provide": ("provide", "start task: install the pinned xxhash wheel (SHA-256 checked) so this node can hash"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="azrender_node")
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        modules[name] = importlib.import_module(f"{__package__}.{module_name}")
        modules[name].register(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    return int(modules[args.command].run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
