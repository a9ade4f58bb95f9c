"""The ``azrender`` command line. Each subcommand lives in ``azrender.commands.<name>`` and is
imported only when invoked, so a no-op ``azrender sync`` starts as fast as Python allows.

A command module provides ``HELP`` (one line), ``register(parser)`` (adds its arguments) and
``run(args) -> int`` (the exit code). Errors derived from :class:`AzrenderError` are printed as one
clear line (secrets redacted) with their own exit code; nothing reaches the user as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

COMMANDS = {
    "deps": "azrender.commands.deps",
    "sync": "azrender.commands.sync",
    "gc": "azrender.commands.gc",
    "migrate": "azrender.commands.migrate",
    "fetch": "azrender.commands.fetch",
    "paths": "azrender.commands.paths",
    "submit": "azrender.commands.submit",
    "status": "azrender.commands.status",
    "retry": "azrender.commands.retry",
    "download": "azrender.commands.download",
    "wait": "azrender.commands.wait",
    "release": "azrender.commands.release",
    "agent": "azrender.commands.agent",
    "jobs": "azrender.commands.jobs",
    "build-plugins": "azrender.commands.build_plugins",
}


def _load(name: str):
    return importlib.import_module(COMMANDS[name])


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azrender",
        description="Render scenes on Azure Batch or on this machine, with incremental asset sync.",
    )
    parser.add_argument("--version", action="version", version=f"azrender {_version()}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if only is not None and name != only:
            continue
        try:
            module = _load(name)
        except ModuleNotFoundError as exc:  # a command not built yet must not break the others
            if only is not None:
                raise
            sub.add_parser(name, help=f"(unavailable: {exc.name})")
            continue
        command_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.register(command_parser)
    return parser


def _version() -> str:
    from azrender import __version__

    return __version__


def _setup_logging(verbosity: int) -> None:
    from azrender.redact import RedactingFilter

    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The Azure SDKs log request URLs and headers at INFO; keep them quiet unless debugging.
    logging.getLogger("azure").setLevel(logging.WARNING if verbosity < 2 else logging.DEBUG)
    # azure-identity logs every source it tried as a warning; azrender.credentials says it in one line.
    logging.getLogger("azure.identity").setLevel(logging.ERROR if verbosity < 2 else logging.DEBUG)


def _command_in(argv: list[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _exit_now(code: int) -> None:
    """After Ctrl-C: leave without joining worker threads (an abandoned transfer or hash may
    still be reading a large file; its partial file is swept by the next run)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    from azrender.errors import AzrenderError
    from azrender.redact import redact

    argv = list(sys.argv[1:] if argv is None else argv)
    from azrender.dirs import private_files

    private_files()  # what azrender keeps for itself is this user's alone, whatever the umask
    parser = build_parser(only=_command_in(argv))
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    _setup_logging(args.verbose)
    try:
        return int(_load(args.command).run(args) or 0)
    except AzrenderError as exc:
        print(f"azrender {args.command}: error: {exc}", file=sys.stderr)
        if exc.exit_code == 130:
            _exit_now(130)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"azrender {args.command}: interrupted", file=sys.stderr)
        _exit_now(130)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # last line of defence: a bug, reported without leaking secrets
        if isinstance(exc, OSError) and exc.filename is not None:
            # the file system refused a path the user gave or one derived from it (too long,
            # permission denied, disk full): the user's to fix, so one line naming it
            print(f"azrender {args.command}: error: {redact(str(exc.filename))}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        if os.environ.get("AZRENDER_TRACEBACK"):
            raise
        print(
            f"azrender {args.command}: internal error: {type(exc).__name__}: {redact(str(exc))}\n"
            "  (set AZRENDER_TRACEBACK=1 for the traceback and please report it)",
            file=sys.stderr,
        )
        return 70
