"""Run long azrender work (a submission, a download) on a worker thread and let a host UI poll it.

Host UIs are single-threaded: they must never block on uploads, and they must not be touched
from the worker. So the worker only records progress under a lock, and the host reads an immutable
:class:`Snapshot` from its own timer (Blender modal timer, Maya ``QTimer``, 3ds Max timer) and
draws it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any, Callable

from azrender.progress import ProgressCallback


@dataclass(frozen=True)
class Snapshot:
    """The state of a background call at one instant."""

    stage: str = "start"
    done: float = 0.0
    total: float = 0.0
    message: str = ""
    finished: bool = False
    result: Any = None
    error: str | None = None  # one line for the user, secrets redacted
    error_detail: str | None = None  # the same with its listed items and hint each on their own line
    exception: BaseException | None = None  # what failed, for a host that reacts to its kind

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def text(self) -> str:
        """One status-bar line: ``azrender sync 40% wood.png``."""
        if self.error:
            return f"azrender: {self.error}"
        percent = f" {self.fraction:.0%}" if self.total else ""
        return f"azrender {self.stage}{percent} {self.message}".rstrip()


def error_line(exc: BaseException) -> str:
    """What a host shows for a failure, on one line (a status bar, a report): the project's own
    message with its listed items and hint joined by ``;``, else the exception, redacted."""
    from azrender.errors import AzrenderError
    from azrender.redact import redact

    if not isinstance(exc, AzrenderError):
        return f"internal error: {type(exc).__name__}: {redact(str(exc))}"
    text = exc.message + (f"\nhint: {host_hint(exc.hint)}" if exc.hint else "")
    head, *rest = [line.strip() for line in text.splitlines() if line.strip()] or [type(exc).__name__]
    return f"{head} {'; '.join(rest)}" if rest else head


def error_text(exc: BaseException) -> str:
    """What a dialog with room shows for a failure: the message, its list and its hint each on
    their own line (the hint last), redacted."""
    from azrender.errors import AzrenderError

    if not isinstance(exc, AzrenderError):
        return error_line(exc)
    text = exc.message + (f"\nhint: {host_hint(exc.hint)}" if exc.hint else "")  # what the artist can do in the host
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def host_hint(hint: str) -> str:
    """A hint for an artist in a host, who has no command line: "pass --batch-url or set
    batch_url in config.toml" becomes "set batch_url in /home/me/.config/azrender/config.toml"
    (whose folder is created, so the file can be saved there)."""
    import re

    # a flag's value: a placeholder (NAME) or a word right before "or", a comma or the end (--os windows)
    flag = r"(,\s*)?(or )?pass --[\w-]+(?: [A-Z][\w:]*| [a-z0-9][\w.:]*(?=$|,| or ))?( or |, )?"
    shown = re.sub(flag, lambda m: "", hint).strip(" ,")
    if "config.toml" in shown:
        from azrender.settings import config_path

        path = config_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # the hint still names the file
        shown = shown.replace("config.toml", str(path))
    return shown or hint


class Background:
    """``call(progress)`` on a daemon thread; ``poll()`` from the UI thread as often as wanted."""

    def __init__(self, call: Callable[[ProgressCallback], Any]):
        self._call = call
        self._lock = threading.Lock()
        self._snapshot = Snapshot()
        self._thread = threading.Thread(target=self._run, name="azrender-background", daemon=True)

    def start(self) -> "Background":
        self._thread.start()
        return self

    def poll(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def wait(self, timeout: float | None = None) -> Snapshot:
        self._thread.join(timeout)
        return self.poll()

    def _set(self, **changes) -> None:
        with self._lock:
            self._snapshot = replace(self._snapshot, **changes)

    def _progress(self, stage: str, done: float, total: float, message: str = "") -> None:
        self._set(stage=stage, done=done, total=total, message=message)

    def _run(self) -> None:
        try:
            result = self._call(self._progress)
        except BaseException as exc:  # the worker always ends with something the host can show
            self._set(finished=True, error=error_line(exc), error_detail=error_text(exc), exception=exc)
        else:
            self._set(finished=True, result=result)


class ProgressDriver:
    """Drives a host's progress display from snapshots: ``start(percent, text)`` once, then
    ``update(percent, text)``, then ``end()`` when the call finished. Hosts call :meth:`tick`
    from their UI timer (Maya ``progressWindow``, 3ds Max ``progressStart``)."""

    def __init__(self, start: Callable[[int, str], None], update: Callable[[int, str], None], end: Callable[[], None]):
        self._start, self._update, self._end = start, update, end
        self.showing = False

    def tick(self, snapshot: Snapshot) -> bool:
        """Show ``snapshot``; return True once the call has finished (and the display is closed)."""
        if snapshot.finished:
            if self.showing:
                self._end()
                self.showing = False
            return True
        percent = int(snapshot.fraction * 100)
        (self._update if self.showing else self._start)(percent, snapshot.text)
        self.showing = True
        return False


def hand_over_in_background(prepared) -> Background:
    """Hand a host's submission to the background agent from a worker thread (a
    :class:`~azrender.hosts.submission.Captured` is resolved and checked there first); its result
    is the :class:`~azrender.agent.Handover`, within a second or so: the upload is the agent's."""

    def call(progress: ProgressCallback):
        progress("check", 0, 1, "the scene's files")
        return prepared.hand_over()

    return Background(call).start()
