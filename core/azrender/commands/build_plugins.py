"""azrender build-plugins: the Blender extension zip, the Maya module and the 3ds Max package."""

from __future__ import annotations

from pathlib import Path

HELP = "build the installable host plugins (Blender zip, Maya module, 3ds Max package)"


def register(parser) -> None:
    from azrender.hosts.build import PLATFORMS

    parser.add_argument("--dest", type=Path, default=Path("dist"), help="output folder (default ./dist)")
    parser.add_argument("--platform", dest="platforms", action="append", default=[], choices=list(PLATFORMS),
                        help="bundle wheels for this platform (repeatable; default: this machine's). "
                             "The 3ds Max package always gets windows-x64.")
    parser.add_argument("--python-version", default="3.11",
                        help="the hosts' Python (default 3.11: Blender 4.2+, Maya 2025+, 3ds Max 2025+)")
    parser.add_argument("--no-wheels", dest="wheels", action="store_false",
                        help="bundle no dependencies (no package index needed; install azrender into each host's Python)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be built and stop")


def run(args) -> int:
    from azrender.dirs import user_umask
    from azrender.hosts import build

    plan = build.plan(args.dest, platforms=args.platforms, python_version=args.python_version, wheels=args.wheels)
    for line in plan.describe():
        print(line)
    if args.dry_run:
        return 0
    with user_umask():  # the plug-ins are the user's to install and share
        for artifact in build.build(plan):
            print(f"built {artifact}")
    return 0
