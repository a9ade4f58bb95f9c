"""Run one command line the way the Batch node agent does: split, never through a shell, in its
working directory, stdout/stderr into the task directory, in its own process group so a wall-clock
limit, a job termination or a node reboot kills everything it started."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .state import Failure

POLL = 0.05


@dataclass(frozen=True)
class Outcome:
    exit_code: int | None
    failure: Failure | None = None
    cancelled: str | None = None  # why the process was killed from outside: "terminate" | "reboot" | "preempt"

    @property
    def retryable(self) -> bool:
        """Batch retries a nonzero exit only: not a missing program, a timeout or a cancellation."""
        return self.failure is not None and self.failure.code == "FailureExitCode"


class Cancel:
    """Set from the runner's loop to kill an attempt: the reason is kept for the outcome."""

    def __init__(self):
        self.reason: str | None = None
        self._event = threading.Event()

    def set(self, reason: str) -> None:
        self.reason = self.reason or reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def run_command(command_line: str, *, task_dir: Path, working_dir: Path, env: dict[str, str],
                deadline: float | None, cancel: Cancel, on_start=None) -> Outcome:
    """One attempt. ``deadline`` is a time.monotonic() value; ``on_start(pgid)`` records the group."""
    task_dir.mkdir(parents=True, exist_ok=True)
    working_dir.mkdir(parents=True, exist_ok=True)
    with open(task_dir / "stdout.txt", "wb") as out, open(task_dir / "stderr.txt", "wb") as err:
        try:
            argv = shlex.split(command_line)
            if not argv:
                raise ValueError("empty command line")
            proc = subprocess.Popen(argv, cwd=working_dir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, start_new_session=True)
        except (OSError, ValueError) as exc:
            message = f"The specified command program is not found or cannot run: {exc}"
            err.write((message + "\n").encode())
            return Outcome(None, Failure("CommandProgramNotFound", message))
        if on_start:
            on_start(proc.pid)
        while True:
            try:
                code = proc.wait(timeout=POLL)
                break
            except subprocess.TimeoutExpired:
                pass
            if cancel.is_set():
                _kill_group(proc)
                message = {"terminate": "Task was ended by user request",
                           "preempt": "The node was preempted"}.get(cancel.reason, "The node was rebooted")
                return Outcome(_exit_code(proc.returncode), Failure("TaskEnded", message), cancelled=cancel.reason)
            if deadline is not None and time.monotonic() > deadline:
                _kill_group(proc)
                return Outcome(_exit_code(proc.returncode),
                               Failure("TaskEnded", "The task exceeded its maximum wall clock time and was killed"))
    # The command's own children may outlive it in its group; Batch ends them with the task.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    code = _exit_code(code)
    return Outcome(code, None if code == 0 else Failure("FailureExitCode",
                                                        f"The task process exited with exit code {code}"))


def _exit_code(returncode: int) -> int:
    """Killed by a signal: report it as a shell would (128 + signal), like a Linux node does."""
    return 128 - returncode if returncode < 0 else returncode
