"""The one token grammar every host shares: frame and tile tokens in file names, and environment
variables in whole paths.

Frame tokens: ``#``/``####`` (Blender, Max), ``%04d``/``%d``, ``$F``/``$F4``, ``<f>``/``<f4>``,
``<frame>``. Tile tokens: ``<UDIM>``/``<udim>`` (1001, 1002, ...) and ``<UVTILE>``
(``u1_v1``). A ``*`` matches anything (blender-asset-tracer names point caches that way).
Hosts that store one example file instead of a token (Blender image sequences, Maya's
``useFrameExtension``, Maya's first UDIM tile plus ``uvTilingMode``) are turned into a pattern
with :func:`frame_pattern` / :func:`tile_pattern` first, so expansion is always the same code.

Tokens are honoured in the file name only (the last path component); a directory with a token in
its name is taken literally.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass

# Each token becomes a regular expression for the file names it stands for.
_TOKEN = re.compile(
    r"(?P<hashes>#+)"
    r"|%(?:0(?P<printf_width>\d+))?d"
    r"|\$F(?P<houdini_width>\d?)(?![A-Za-z_])"
    r"|<f(?P<angle_width>\d?)>"
    r"|<frame>"
    r"|<(?P<udim>UDIM|udim)>"
    r"|<(?P<uvtile>UVTILE|uvtile)>"
    r"|(?P<glob>\*)"
)
_ENV = re.compile(r"\$\{(?P<braced>[A-Za-z_]\w*)\}|\$(?P<bare>[A-Za-z_]\w*)|%(?P<windows>[A-Za-z_]\w*)%")


def _frame_regex(width: int) -> str:
    # A padded frame is at least `width` digits; frames past the padding grow, negatives keep a sign.
    return rf"-?\d{{{width},}}" if width > 1 else r"-?\d+"


def _token_regex(match: re.Match) -> str:
    if match["hashes"]:
        return _frame_regex(len(match["hashes"]))
    if match["udim"]:
        return r"1\d{3}"
    if match["uvtile"]:
        return r"u-?\d+_v-?\d+"
    if match["glob"]:
        return r".*"
    width = match["printf_width"] or match["houdini_width"] or match["angle_width"] or "1"
    return _frame_regex(int(width))


def has_tokens(name: str) -> bool:
    """True when the file name ``name`` holds a frame or tile token."""
    return _TOKEN.search(name) is not None


def name_regex(name: str) -> re.Pattern:
    """A regular expression matching the file names the tokenised ``name`` stands for."""
    parts, last = [], 0
    for match in _TOKEN.finditer(name):
        parts.append(re.escape(name[last:match.start()]))
        parts.append(f"(?:{_token_regex(match)})")
        last = match.end()
    parts.append(re.escape(name[last:]))
    return re.compile("".join(parts) + r"\Z")


@dataclass(frozen=True)
class Expansion:
    """The files on disk a path stands for: ``files`` holds ``(path, size)`` sorted by path;
    empty when nothing matched."""

    path: str
    files: tuple[tuple[str, int], ...]
    is_pattern: bool


def expand(path: str, *, directories: bool = False) -> Expansion:
    """List the existing files ``path`` stands for.

    A path that exists as written is taken literally, even with a ``#`` in its name (a literal
    ``#`` is a legal file-name character); otherwise a tokenised file name is matched against its
    directory's listing. With ``directories``, a folder yields the files below it (caches the host
    writes as folders); otherwise a folder is not a file and matches nothing. A pipe, socket or
    device is there (it is never read here): :mod:`azrender.private` refuses it, naming the rule.
    """
    try:
        info = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        info = None
    if info is not None and not stat.S_ISDIR(info.st_mode):
        return Expansion(path, ((path, info.st_size),), False)
    if info is not None and stat.S_ISDIR(info.st_mode) and directories:
        return Expansion(path, tuple(sorted(_files_below(path))), True)
    directory, name = os.path.split(path)
    if not has_tokens(name):
        return Expansion(path, (), False)
    regex = name_regex(name)
    try:
        entries = [entry for entry in os.scandir(directory or ".") if regex.match(entry.name)]
        matched = [(entry.path, entry.stat().st_size) for entry in entries if not entry.is_dir()]
    except (OSError, ValueError):
        return Expansion(path, (), True)
    return Expansion(path, tuple(sorted(matched)), True)


def _files_below(directory: str):
    for root, _dirs, files in os.walk(directory):
        for name in files:
            full = os.path.join(root, name)
            try:
                yield full, os.stat(full).st_size
            except OSError:
                continue


def expand_env(path: str, env: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """Substitute ``$VAR``, ``${VAR}`` and ``%VAR%`` from ``env``.

    Returns the new path and the names that were not defined; an undefined variable is left as
    written (so ``$F4`` stays a frame token unless the environment really defines ``F4``).
    """
    if "$" not in path and "%" not in path:
        return path, ()
    undefined: list[str] = []

    def substitute(match: re.Match) -> str:
        name = match["braced"] or match["bare"] or match["windows"]
        if name in env:
            return env[name]
        if not (match["bare"] and re.fullmatch(r"F\d?", name)):
            undefined.append(name)
        return match.group(0)

    return _ENV.sub(substitute, path), tuple(undefined)


# ---- hosts that store an example file instead of a token ---------------------------------------

_LAST_DIGITS = re.compile(r"(\d+)(?!.*\d)")
_UDIM_NUMBER = re.compile(r"(?<!\d)(1\d{3})(?!\d)(?!.*(?<!\d)1\d{3}(?!\d))")
_UV_TILE = re.compile(r"u-?\d+_v-?\d+(?!.*u-?\d+_v-?\d+)")


def frame_pattern(path: str) -> str:
    """Blender image sequences / Maya ``useFrameExtension``: the last digit run of the file's stem
    is the frame number (``shot.0001.exr`` -> ``shot.####.exr``). Unchanged without digits."""
    directory, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    match = _LAST_DIGITS.search(stem)
    if not match:
        return path
    stem = stem[:match.start()] + "#" * len(match.group(1)) + stem[match.end():]
    return os.path.join(directory, stem + ext)


def tile_pattern(path: str, mode: int | str) -> str:
    """Maya's first tile plus ``uvTilingMode`` (1 ZBrush ``u0_v0``, 2 Mudbox ``u1_v1``,
    3 Mari ``1001``; ``"udim"`` for hosts that only know UDIM) -> a ``<UDIM>``/``<UVTILE>`` pattern."""
    directory, name = os.path.split(path)
    if mode in (3, "udim") and not has_tokens(name):
        name = _UDIM_NUMBER.sub("<UDIM>", name, count=1)
    elif mode in (1, 2) and not has_tokens(name):
        name = _UV_TILE.sub("<UVTILE>", name, count=1)
    return os.path.join(directory, name)
