"""Files that never leave the workstation: system and credential locations, device files, and
virtual files whose size says empty but which read data (``/proc/self/environ`` holds this
process's own secrets).

A scene can name any path; a careless or hostile one names ``~/.ssh/id_rsa``. Every path about to
be sent (scene dependencies, synced folders) passes :func:`refusal` first; a studio that really
means to send such a file names it (or a folder above it) in ``allowed`` (``--allow-path``).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Absolute system folders: virtual file systems, devices, machine configuration and runtime secrets.
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev", "/etc", "/run", "/private/etc", "/private/var/db")
# Relative to the home folder: credential stores of the usual tools (Windows spellings too).
HOME_CREDENTIALS = (".ssh", ".aws", ".azure", ".config/gcloud", ".netrc", "_netrc", ".gnupg", ".kube",
                    ".docker/config.json", ".git-credentials", ".pgpass", ".local/share/keyrings",
                    "Library/Keychains")
# Windows credential stores and system hives, by the environment variable that locates them.
WINDOWS_CREDENTIALS = (("APPDATA", "Microsoft/Credentials"), ("APPDATA", "Microsoft/Protect"),
                       ("APPDATA", "Microsoft/Crypto"), ("LOCALAPPDATA", "Microsoft/Credentials"),
                       ("SYSTEMROOT", "System32/config"))


@dataclass(frozen=True)
class Refusal:
    path: str
    rule: str
    allowable: bool = True  # False: no flag can send it (a pipe would block the reader forever)

    @property
    def hint(self) -> str:
        return "--allow-path to send it anyway" if self.allowable else "nothing can send it: replace it with a regular file"

    def line(self) -> str:
        return f"{self.path}: {self.rule}; not sent ({self.hint})"


def _norm(path: str) -> str:
    return os.path.normcase(os.path.normpath(path))


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("\\/") + os.sep)


def _locations() -> list[tuple[str, str]]:
    """``(folder, rule)`` pairs for this machine and user, from the environment at call time."""
    found = [(folder, f"system folder {folder}") for folder in SYSTEM_FOLDERS]
    homes = {os.path.expanduser("~"), os.environ.get("HOME", ""), os.environ.get("USERPROFILE", "")}
    for home in filter(None, homes):
        found += [(os.path.join(home, name), f"credential location ~/{name}") for name in HOME_CREDENTIALS]
    for variable, name in WINDOWS_CREDENTIALS:
        if os.environ.get(variable):
            found.append((os.path.join(os.environ[variable], name), f"credential location %{variable}%/{name}"))
    return [(_norm(folder), rule) for folder, rule in found]


def _windows_device(path: str) -> bool:
    return path.startswith(("\\\\.\\", "\\\\?\\GLOBALROOT", "//./")) or (
        sys.platform == "win32" and os.path.splitext(os.path.basename(path))[0].upper()
        in {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))})


def _reads_data(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        return bool(os.read(fd, 1))
    except OSError:
        return False
    finally:
        os.close(fd)


class Guard:
    """Checks paths against this machine's private locations (computed once) and the allowed folders."""

    def __init__(self, allowed: Sequence[str | os.PathLike] = ()):
        self.allowed = tuple(_norm(os.path.abspath(os.path.expanduser(os.fspath(p)))) for p in allowed)
        self.locations = _locations()

    def refusal(self, path: str | os.PathLike) -> Refusal | None:
        """Why ``path`` must not be sent, or None. A link is judged by both its name and its target."""
        text = os.fspath(path)
        names = {_norm(os.path.abspath(text))}
        try:
            names.add(_norm(os.path.realpath(text)))
        except (OSError, ValueError):
            pass
        allowed = lambda name: any(_under(name, folder) for folder in self.allowed)  # noqa: E731
        try:
            info = os.stat(text)
        except (OSError, ValueError):
            info = None  # missing: discovery reports it as such (the location rules still apply)
        if info is not None and not stat.S_ISDIR(info.st_mode) and not stat.S_ISREG(info.st_mode):
            return Refusal(text, "not a regular file (a device, pipe or socket)", allowable=False)
        if _windows_device(text) and not any(map(allowed, names)):
            return Refusal(text, "a Windows device path")
        for name in names:
            if allowed(name):
                continue
            for folder, rule in self.locations:
                if _under(name, folder):
                    return Refusal(text, rule)
        if info is None or stat.S_ISDIR(info.st_mode) or any(map(allowed, names)):
            return None
        if info.st_size == 0 and _reads_data(text):
            return Refusal(text, "a virtual file (its size says empty but it reads data)")
        return None

    def refusals(self, paths: Iterable[str | os.PathLike]) -> list[Refusal]:
        return [r for r in map(self.refusal, paths) if r is not None]


def refusal(path: str | os.PathLike, allowed: Sequence[str | os.PathLike] = ()) -> Refusal | None:
    return Guard(allowed).refusal(path)


def scene_refusals(report, allowed: Sequence[str | os.PathLike] = ()) -> list[Refusal]:
    """The scene file and the existing dependencies of a discovery report that must stay here."""
    return Guard(allowed).refusals([report.scene, *(d.path for d in report.dependencies if d.exists)])


def refused_paths(report, allowed: Sequence[str | os.PathLike] = ()) -> dict[str, Refusal]:
    """:func:`scene_refusals` by path: what ``deps`` and the host panels flag REFUSED."""
    return {r.path: r for r in scene_refusals(report, allowed)}
