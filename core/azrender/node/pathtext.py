"""Path text of any origin, split and re-joined without touching a filesystem.

A scene saved on Windows holds ``C:\\proj\\tex.png`` or ``\\\\server\\share\\tex.png``; one saved on
Linux or macOS holds ``/home/me/tex.png``. Render nodes of either OS must understand all three, so
the flavor is read from the text itself, never from the OS this code runs on.

Also the mapping rules' one implementation (``PrefixTable`` and ``map_path``), shared by the submit
side and the node.
"""

from __future__ import annotations

import os
import re

WINDOWS = "windows"  # C:\dir\file
UNC = "unc"  # \\server\share\dir\file
POSIX = "posix"  # /dir/file (Linux, macOS)

_DRIVE = re.compile(r"^([A-Za-z]):[\\/]")
_LONG_PREFIX = re.compile(r"^[\\/]{2}[?.][\\/]")  # \\?\C:\... and \\.\C:\...


def split(text: str) -> tuple[str, str, tuple[str, ...]]:
    """Return ``(flavor, anchor, parts)`` for an absolute path, normalising ``.``/``..``/separators.

    anchor: ``C:`` (upper case), ``\\\\server\\share`` (as written) or ``/``.
    Raises ValueError for a relative or empty path.
    """
    if _LONG_PREFIX.match(text):
        rest = text[4:]
        if rest[:4].upper() in ("UNC\\", "UNC/"):
            text = "\\\\" + rest[4:]
        else:
            text = rest
    drive = _DRIVE.match(text)
    if drive:
        return WINDOWS, drive.group(1).upper() + ":", _normalise(re.split(r"[\\/]+", text[3:]), text)
    if text[:2] in ("\\\\", "//") and len(text) > 2 and text[2] not in "\\/":
        pieces = re.split(r"[\\/]+", text[2:])
        if len(pieces) < 2 or not pieces[0] or not pieces[1]:
            raise ValueError(f"not a UNC path (needs \\\\server\\share): {text!r}")
        return UNC, "\\\\" + pieces[0] + "\\" + pieces[1], _normalise(pieces[2:], text)
    if text.startswith("/"):
        return POSIX, "/", _normalise(text.split("/"), text)
    raise ValueError(f"not an absolute path: {text!r}")


def _normalise(pieces, original: str) -> tuple[str, ...]:
    parts: list[str] = []
    for piece in pieces:
        if piece in ("", "."):
            continue
        if piece == "..":
            if not parts:
                raise ValueError(f"path goes above its root: {original!r}")
            parts.pop()
            continue
        parts.append(piece)
    return tuple(parts)


def case_sensitive(flavor: str) -> bool:
    """Windows drives and SMB shares ignore case; POSIX file systems are taken as case-sensitive."""
    return flavor == POSIX


def fold(flavor: str, parts) -> tuple[str, ...]:
    return tuple(parts) if case_sensitive(flavor) else tuple(p.casefold() for p in parts)


def join(flavor: str, anchor: str, parts) -> str:
    if flavor == POSIX:
        return "/" + "/".join(parts)
    sep = "\\"
    return anchor + sep + sep.join(parts) if parts else anchor + sep


def is_within(path: tuple[str, str, tuple[str, ...]], prefix: tuple[str, str, tuple[str, ...]]) -> bool:
    """Whether split path ``path`` lies at or under split path ``prefix`` (same flavor and anchor)."""
    flavor, anchor, parts = path
    p_flavor, p_anchor, p_parts = prefix
    if flavor != p_flavor or len(parts) < len(p_parts):
        return False
    if fold(flavor, [anchor]) != fold(flavor, [p_anchor]):
        return False
    return fold(flavor, parts[: len(p_parts)]) == fold(flavor, p_parts)


# ---- mapping rules -----------------------------------------------------------------------------
# A rule is a dict (as stored in rules.json): {"source": "C:\\proj", "destination":
# "$AZ_BATCH_NODE_SHARED_DIR/azrender/assets/proj", "node_os": "linux"}.

RULES_VERSION = 1


def node_separator(node_os: str) -> str:
    return "\\" if node_os == "windows" else "/"


class PrefixTable:
    """Values keyed by folder prefixes (any flavor); ``find`` returns the deepest one holding a
    path in one dictionary lookup per path depth. Among equal prefixes the later value wins."""

    def __init__(self, items):
        self._table: dict[tuple, object] = {}
        for prefix, value in items:
            flavor, anchor, parts = split(prefix)
            self._table[_key(flavor, anchor, parts)] = value

    def find(self, text: str):
        """``(value, parts of text below its prefix)`` or None (no prefix holds it, or relative)."""
        try:
            flavor, anchor, parts = split(text)
        except ValueError:
            return None
        key = _key(flavor, anchor, parts)
        for depth in range(len(parts), -1, -1):
            value = self._table.get(key[:2 + depth])
            if value is not None:
                return value, parts[depth:]
        return None


def _key(flavor: str, anchor: str, parts) -> tuple:
    return (flavor,) + fold(flavor, (anchor, *parts))


def compile_rules(rules) -> PrefixTable:
    """Rules (dicts as in rules.json) ready to map many paths."""
    return PrefixTable((rule["source"], rule) for rule in rules)


def map_path(text: str, rules: PrefixTable) -> str | None:
    """Map one absolute local path through compiled rules (longest source prefix wins).

    Returns the node path (environment variables still unexpanded) or None when no rule applies.
    """
    found = rules.find(text)
    if found is None:
        return None
    rule, rest = found
    return destination_path(rule["destination"], rule["node_os"], rest)


def destination_path(destination: str, node_os: str, rest) -> str:
    if not rest:
        return destination
    sep = node_separator(node_os)
    return destination.rstrip("\\/") + sep + sep.join(rest)


def expand(path: str) -> str:
    """Expand ``$VAR``, ``${VAR}`` and ``%VAR%`` (the forms azrender writes) on this node."""
    path = re.sub(r"%([A-Za-z_][A-Za-z0-9_]*)%", lambda m: os.environ.get(m.group(1), m.group(0)), path)
    return os.path.expandvars(path)
