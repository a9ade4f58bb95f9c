"""``azrender agent``: the per-user background agent (see :mod:`azrender.agent`). Started on demand
by ``submit --background``, the host plugins and gated submissions; run it by hand to resume work
an agent left (a killed upload, jobs still to watch). Exits when nothing is left to do."""

from __future__ import annotations

HELP = "run the background agent: handed-over uploads, scout checks, budget waves, downloads (exits when idle)"


def register(parser) -> None:
    parser.add_argument("--once", action="store_true", help="one pass over the inbox and the watched jobs, then exit")


def run(args) -> int:
    from azrender import agent

    if agent.running():
        print("azrender agent: another agent is already running for this user")
        return 0
    return agent.run(once=args.once)
