"""``python3 azrender_node.pyz <subcommand> ...``: the node-side helper, standard library only.

To add a subcommand, add a row to SUBCOMMANDS: name -> (module in this package, help line); the
module provides ``register(parser)`` and ``run(args) -> int`` (the exit code), or a script-style
``main(argv) -> int`` that parses its own arguments.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = {
    "prep": ("prep", "job preparation: sync the node's asset cache to the manifest (or mount)"),
    "release": ("release", "job release: remove this job's files, keep the shared cache"),
    "check": ("check", "pre-render check: every file the task needs is at its node path"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    modules = {name: importlib.import_module(f"{__package__}.{module}") for name, (module, _) in SUBCOMMANDS.items()}
    if argv and argv[0] in modules and not hasattr(modules[argv[0]], "register"):
        return int(modules[argv[0]].main(argv[1:]) or 0)
    parser = argparse.ArgumentParser(prog="azrender_node")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in SUBCOMMANDS.items():
        command = sub.add_parser(name, help=help_text)
        if hasattr(modules[name], "register"):
            modules[name].register(command)
    args = parser.parse_args(argv)
    return int(modules[args.command].run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
