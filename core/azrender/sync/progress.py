"""What the sync commands show a person at a terminal: a live bar (files, bytes, rate, ETA) on
stderr, only when stderr is a terminal."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from azrender.sync.engine import Progress, ProgressUpdate


@contextmanager
def terminal_bar(label: str, *, enabled: bool = True) -> Iterator[Progress | None]:
    """Yield a progress callback drawing a rich bar, or ``None`` when not on a terminal."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress as Bar, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    bar = Bar(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[files]}"),
              DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
              transient=True)
    with bar:
        task = bar.add_task(label, total=None, files="")

        def update(u: ProgressUpdate) -> None:
            bar.update(task, completed=u.bytes_done, total=u.bytes_total or None,
                       files=f"{u.files_done}/{u.files_total} files")

        yield update

