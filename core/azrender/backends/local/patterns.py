"""Output file patterns with Batch's rules (OutputFile.file_pattern, Linux nodes):

- ``$VAR`` / ``${VAR}`` expand from the task's environment first;
- relative patterns are relative to the task working directory (``../stdout.txt`` is the task dir);
- ``*`` ``?`` ``[abc]`` ``[!abc]`` match within one path segment, ``**`` matches any directories;
- names starting with "." match only a pattern segment that starts with "." too;
- blob names: a pattern without wildcards uploads to ``path`` itself (or the file name); a pattern
  with wildcards uploads each file to ``path/<its path below the pattern's fixed leading folders>``.
"""

from __future__ import annotations

import fnmatch
import os
import re
from functools import lru_cache
from pathlib import Path, PurePosixPath

_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_WILDCARD = re.compile(r"[*?\[]")


def expand(text: str, env: dict[str, str]) -> str:
    return _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), text)


@lru_cache(maxsize=256)
def _segment(pattern: str) -> re.Pattern:
    return re.compile(fnmatch.translate(pattern))


def _matches(segments: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    if not segments:
        return not parts
    head, rest = segments[0], segments[1:]
    if head == "**":
        if _matches(rest, parts):
            return True
        return bool(parts) and not parts[0].startswith(".") and _matches(segments, parts[1:])
    if not parts or (parts[0].startswith(".") and not head.startswith(".")):
        return False
    return bool(_segment(head).match(parts[0])) and _matches(rest, parts[1:])


def output_files(pattern: str, path: str | None, working_dir: Path, env: dict[str, str]) -> list[tuple[Path, str]]:
    """Every (local file, blob name) an OutputFile uploads, sorted by blob name."""
    expanded = expand(pattern, env)
    full = os.path.normpath(os.path.join(working_dir, expanded))
    parts = PurePosixPath(full).parts
    fixed = 0
    while fixed < len(parts) and not _WILDCARD.search(parts[fixed]):
        fixed += 1
    if fixed == len(parts):  # a single file
        file = Path(full)
        return [(file, path or file.name)] if file.is_file() else []
    base, segments = Path(*parts[:fixed]), tuple(parts[fixed:])
    found = []
    for folder, dirs, files in os.walk(base):
        dirs.sort()
        for name in files:
            file = Path(folder) / name
            relative = file.relative_to(base)
            if _matches(segments, relative.parts):
                blob = relative.as_posix()
                found.append((file, f"{path.rstrip('/')}/{blob}" if path else blob))
    return sorted(found, key=lambda pair: pair[1])
