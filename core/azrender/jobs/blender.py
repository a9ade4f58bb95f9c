"""Which Blender renders a job: the node's Blender must be at least the version that saved the scene.

- The scene's version: recorded by the add-on (``bpy.app.version``) or read from the .blend header.
- The local backend's Blender, chosen in this order: ``--blender VERSION|PATH`` (else the
  profile's ``blender``), the Blender that is submitting (the add-on's own
  executable, or for a ``bpy`` wheel its Python), ``$AZRENDER_BLENDER``, ``blender`` on PATH.
  A Python with ``bpy`` (a bpy wheel has no executable) renders through a small launcher that
  takes Blender's command line (:mod:`azrender.node.bpy_blender`).
- Azure nodes: see :mod:`azrender.jobs.provision` (a pinned version installed by the start task).
"""

from __future__ import annotations

import functools
import gzip
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from azrender.errors import UsageError
from azrender.node.blender_version import opens, parse, refusal, text

# .blend header: "BLENDER" + pointer size/endianness + version ("-v402"), or since 5.0
# "BLENDER" + header size + "-" + format version + endianness + version ("17-01v0500").
_HEADER = re.compile(rb"BLENDER(?:[-_][vV](\d)(\d\d)|\d\d-\d\d[vV](\d\d)(\d\d))")


def scene_version(path: str | os.PathLike) -> tuple[int, int] | None:
    """(major, minor) of the Blender that saved a .blend, from its header (gzip and zstd
    compressed files too, zstd needing ``zstandard``); None when it cannot be told."""
    with open(path, "rb") as f:
        head = f.read(64)
    if head[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as f:
            head = f.read(64)
    elif head[:4] == b"\x28\xb5\x2f\xfd":
        try:
            import zstandard
        except ImportError:
            return None
        with open(path, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as reader:
            head = reader.read(64)
    found = _HEADER.match(head)
    if not found:
        return None
    major, minor = (found.group(1), found.group(2)) if found.group(1) else (found.group(3), found.group(4))
    return int(major), int(minor)


@dataclass(frozen=True)
class LocalBlender:
    executable: str  # what the task runs: Blender, or the launcher of a bpy wheel's Python
    version: tuple[int, ...]
    origin: str  # where the choice came from, for messages


def _is_python(path: Path) -> bool:
    return path.name.lower().startswith("python")


def _python_of(path: Path) -> Path | None:
    """A Python interpreter with bpy: the path itself, or a virtual environment's."""
    if path.is_dir():
        for candidate in (path / "bin" / "python", path / "Scripts" / "python.exe"):
            if candidate.exists():
                return candidate
        return None
    return path if _is_python(path) else None


def launcher_script(python: str, runner: str, *, windows: bool) -> tuple[str, str]:
    """(file name, text) of the launcher running ``runner`` (bpy_blender.py) with ``python``:
    a ``blender.cmd`` on Windows (``%`` doubled: cmd would expand it), a shell script elsewhere."""
    if windows:
        python, runner = (path.replace("%", "%%") for path in (python, runner))
        return "blender.cmd", f'@"{python}" "{runner}" %*\r\n@exit /b %errorlevel%\r\n'
    return "blender", f'#!/bin/sh\nexec {shlex.quote(python)} {shlex.quote(runner)} "$@"\n'


def launcher(python: str | os.PathLike) -> str:
    """An executable taking Blender's command line for a Python that imports ``bpy``: a script in
    the state folder running :mod:`azrender.node.bpy_blender` (copied beside it: azrender need
    not be installed in that Python)."""
    import hashlib
    from importlib import resources

    from azrender.dirs import state_dir

    runner = resources.files("azrender.node").joinpath("bpy_blender.py").read_bytes()
    python = os.path.abspath(python)  # a venv's python is a link: keep it, its site-packages hold bpy
    key = hashlib.sha256(runner + python.encode()).hexdigest()[:16]
    folder = state_dir() / "blender" / key
    name, text = launcher_script(python, str(folder / "bpy_blender.py"), windows=os.name == "nt")
    script = folder / name
    if not script.exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "bpy_blender.py").write_bytes(runner)
        temporary = folder / (name + ".tmp")
        temporary.write_text(text, newline="")
        temporary.chmod(0o700)  # in azrender's own folder: this user's alone
        temporary.replace(script)
    return str(script)


@functools.lru_cache(maxsize=16)
def _probe(executable: str, mtime: float) -> tuple[int, ...] | None:
    from azrender.node.blender_version import version_of

    try:
        return version_of(executable)
    except (OSError, subprocess.SubprocessError):
        return None


def probe(path: str, origin: str) -> LocalBlender:
    """The Blender at ``path`` (an executable, a Python with bpy or a virtual environment with
    one) and its version; one clear error when it is none of those."""
    where = Path(os.path.expanduser(path))
    if not where.is_absolute() and not where.exists():
        where = Path(shutil.which(str(where)) or where)
    if not where.exists():
        raise UsageError(f"Blender {path!r} ({origin}) does not exist",
                         hint="give the Blender executable, or the Python (or virtual environment) of a bpy wheel")
    python = _python_of(where)
    executable = launcher(python) if python is not None else str(where)
    version = _probe(executable, where.stat().st_mtime)
    if version is None:
        raise UsageError(f"{path} ({origin}) is not a Blender that runs here ('--version' did not say)",
                         hint="give the Blender executable, or the Python (or virtual environment) of a bpy wheel")
    return LocalBlender(executable, version, origin)


def _candidates(explicit: str | None, origin: str, submitting: str | None):
    if explicit:
        yield explicit, origin
    if submitting:
        yield submitting, "the submitting Blender"
    if os.environ.get("AZRENDER_BLENDER"):
        yield os.environ["AZRENDER_BLENDER"], "AZRENDER_BLENDER"
    if shutil.which("blender"):
        yield shutil.which("blender"), "PATH"


def local_blender(*, explicit: str | None = None, configured: str | None = None, submitting: str | None = None,
                  scene: tuple[int, ...] | None = None, scene_name: str = "the scene") -> LocalBlender:
    """The Blender the local backend renders with. ``explicit`` (``--blender``, else the profile's
    ``configured``) is a PATH, or a VERSION (``4.5``) picking the first other candidate of that
    version. Refuses, in one line, a Blender older than the scene."""
    choice, origin = (explicit, "--blender") if explicit else (configured, "the profile's blender")
    wanted = parse(choice) if choice and not any(sep in choice for sep in "/\\") else None
    chosen = None
    for path, found_origin in _candidates(None if wanted else choice, origin, submitting):
        found = probe(path, found_origin)
        if wanted is None or found.version[:len(wanted)] == wanted:
            chosen = found
            break
    if chosen is None:
        if wanted is not None:
            raise UsageError(f"no Blender {text(wanted)} on this machine ({origin} {choice})",
                             hint="give its path with --blender PATH (or blender = PATH in the profile)")
        raise UsageError("the local backend renders with Blender, which is not installed here (not on PATH)",
                         hint="apt install blender, set AZRENDER_BLENDER, or pass --blender PATH")
    if scene is not None and not opens(chosen.version, scene):
        raise UsageError(refusal(chosen.version, scene, scene_name, where=f"the Blender from {chosen.origin}"))
    return chosen
