"""The background agent's process and folder, below the pipeline (which starts an agent for a
gated job): ``<state dir>/agent/`` holds its lock, pid, log, inbox and progress files; the agent
itself is :mod:`azrender.agent`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def folder() -> Path:
    from azrender.dirs import state_dir

    path = state_dir() / "agent"
    (path / "inbox").mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, text: str) -> None:
    temp = path.with_name(path.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temp, path)


def running() -> bool:
    from azrender.backends.local.locks import is_free

    return not is_free(folder() / "agent.lock")


def ensure_running() -> None:
    """Start a detached agent unless one holds the lock (a second one would exit at once anyway)."""
    if running():
        return
    core = Path(__file__).resolve().parents[2]
    import azure.batch

    env = dict(os.environ)  # a host's own sys.path additions reach the agent, as for the local runner
    env["PYTHONPATH"] = os.pathsep.join([str(core), str(Path(azure.batch.__file__).resolve().parents[2]),
                                         *filter(None, [env.get("PYTHONPATH")])])
    from azrender.backends.local.client import _python

    with open(folder() / "agent.log", "ab") as out:
        subprocess.Popen([_python(), "-m", "azrender", "agent"], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                         env=env, cwd=folder(), start_new_session=True)


def resume() -> None:
    """Start an agent when handed-over submissions wait and none runs (one was killed, or the
    machine restarted): a host looking at its jobs resumes them."""
    if inbox_items():
        ensure_running()


def inbox_items() -> list[Path]:
    return sorted((folder() / "inbox").glob("*.json"))


def progress_file(job_id: str) -> Path:
    return folder() / f"{job_id}.progress"
