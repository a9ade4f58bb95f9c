"""Progress for long work, shown the same way by every command: a rich bar per stage on a
terminal, or one plain line per stage change and every few seconds when output is a pipe/log.

A reporter is the ``progress(stage, done, total, message)`` callback the pipeline stages accept.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

# progress(stage, done, total, message); stage is "discover" | "sync" | "submit" | "render" | "download"
ProgressCallback = Callable[[str, float, float, str], None]


def no_progress(stage: str, done: float, total: float, message: str = "") -> None:
    pass


class ProgressReporter:
    def __init__(self, *, enabled: bool = True, stream=None, interval: float = 5.0):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.interval = interval
        self._rich = None
        self._tasks: dict[str, object] = {}
        self._last_plain: dict[str, float] = {}

    def __enter__(self) -> "ProgressReporter":
        if self.enabled and getattr(self.stream, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._rich = Progress(
                TextColumn("[bold]{task.fields[stage]:<9}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.description}"),
                console=Console(file=self.stream), transient=False,
            )
            self._rich.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._rich is not None:
            self._rich.stop()

    def __call__(self, stage: str, done: float, total: float, message: str = "") -> None:
        if not self.enabled:
            return
        if self._rich is not None:
            task = self._tasks.get(stage)
            if task is None:
                task = self._tasks[stage] = self._rich.add_task(message, total=total or None, stage=stage)
            self._rich.update(task, completed=done, total=total or None, description=message)
            return
        now = time.monotonic()
        finished = total and done >= total
        if stage in self._last_plain and not finished and now - self._last_plain[stage] < self.interval:
            return
        self._last_plain[stage] = now
        count = f"{int(done)}/{int(total)}" if total else f"{int(done)}"
        print(f"{stage}: {count} {message}".rstrip(), file=self.stream, flush=True)
