"""Problems a node OS would have with the mapped paths, found before anything is submitted.

Each problem is one line naming the file(s): a case collision (``Tex.png`` and ``tex.png`` are one
file on Windows and two on Linux), a path too long for the node, or a name the node's file system
refuses (``CON``, ``a:b.png``, a trailing dot).
"""

from __future__ import annotations

import re

from azrender.node import pathtext
from azrender.node.prep import TEMP_SUFFIX, TEMP_SUFFIX_MAX_BYTES
from azrender.paths.model import MappedDependency

# Typical expansions of the Batch variables azrender writes (used only to estimate lengths).
NODE_VARIABLES = {
    "windows": {"AZ_BATCH_NODE_SHARED_DIR": r"D:\batch\tasks\shared", "AZ_BATCH_NODE_MOUNTS_DIR": r"D:\batch\tasks\fsmounts"},
    "linux": {"AZ_BATCH_NODE_SHARED_DIR": "/mnt/resource/batch/tasks/shared",
              "AZ_BATCH_NODE_MOUNTS_DIR": "/mnt/resource/batch/tasks/fsmounts"},
}
WINDOWS_MAX_PATH = 259  # MAX_PATH (260) minus the terminating NUL; renderers are rarely long-path aware
LINUX_MAX_PATH = 4095
MAX_NAME_BYTES = 255  # NTFS and ext4 both refuse longer names
MAX_BLOB_NAME = 1024  # Azure Blob Storage limit on a blob name (prefix included)
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
WINDOWS_ILLEGAL = re.compile(r'[<>:"|?*\x00-\x1f]')


def check_portability(mapped: list[MappedDependency], node_os: str) -> list[str]:
    """Problems with ``mapped`` dependencies on a ``node_os`` node, one message each, stable order."""
    problems: list[str] = []
    usable = [m for m in mapped if m.node_path]
    problems += _case_collisions(usable, node_os)
    for item in usable:
        problems += _name_problems(item, node_os)
        if item.key and "\\" in item.key:  # legal in a Linux file name; a separator everywhere else
            problems.append(f"{item.local_path}: a backslash in a file or folder name cannot be stored and "
                            "found again on a node; rename it")
        if item.key and len(item.key) > MAX_BLOB_NAME:
            problems.append(f"{item.local_path}: its storage key is {len(item.key)} characters, over the "
                            f"{MAX_BLOB_NAME} Azure Blob Storage allows")
        length = len(_estimate(item.node_path, node_os))
        limit = WINDOWS_MAX_PATH if node_os == "windows" else LINUX_MAX_PATH
        if length > limit:
            problems.append(f"{item.local_path}: its node path is about {length} characters, over the "
                            f"{limit} a {node_os} node allows: {item.node_path}")
    return problems


def _case_collisions(mapped: list[MappedDependency], node_os: str) -> list[str]:
    """Node paths equal but for case: from a case-sensitive source to a Windows node, two files
    that overwrite each other; from a Windows source to a Linux node, one file spelled two ways."""
    by_folded: dict[str, list[MappedDependency]] = {}
    for item in mapped:
        by_folded.setdefault(item.node_path.casefold(), []).append(item)
    problems = []
    for group in by_folded.values():
        if len({item.node_path for item in group}) < 2:
            continue
        flavors = {_flavor(item.local_path) for item in group}
        names = " and ".join(sorted({item.local_path for item in group}))
        if node_os == "windows" and pathtext.POSIX in flavors:
            problems.append(f"{names} differ only in case: on a Windows node they are one file and overwrite each other")
        elif node_os != "windows" and flavors & {pathtext.WINDOWS, pathtext.UNC}:
            problems.append(f"{names} differ only in case: one file on Windows, but two different paths on a "
                            "case-sensitive Linux node; use one spelling in the scene")
    return problems


def _flavor(path: str) -> str | None:
    try:
        return pathtext.split(path)[0]
    except ValueError:
        return None


def _name_problems(item: MappedDependency, node_os: str) -> list[str]:
    key = item.key or ""
    names = [n for n in re.split(r"[\\/]", key) if n] if key else _tail(item)
    problems = []
    for name in names:
        # surrogateescape: a name that is not UTF-8 (Latin-1 share) counts its raw bytes
        size = len(name.encode("utf-8", "surrogateescape"))
        if size > MAX_NAME_BYTES:
            problems.append(f"{item.local_path}: the name {name[:40]!r}... is over {MAX_NAME_BYTES} bytes")
        elif item.key and size + TEMP_SUFFIX_MAX_BYTES > MAX_NAME_BYTES:
            problems.append(f"{item.local_path}: its name is {size} bytes, and a node downloads it as "
                            f"<name>{TEMP_SUFFIX}<pid> (up to {size + TEMP_SUFFIX_MAX_BYTES} bytes), over the "
                            f"{MAX_NAME_BYTES} a file name may have; shorten it by {size + TEMP_SUFFIX_MAX_BYTES - MAX_NAME_BYTES}")
        if node_os != "windows":
            continue  # Linux refuses only '/' and NUL, which a path component cannot hold here
        if name != name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"):
            problems.append(f"{item.local_path}: {name!r} is not UTF-8, which a Windows node cannot spell; "
                            "rename it (convmv -f latin1 -t utf8)")
            continue
        stem = name.split(".")[0].rstrip(" ").upper()
        if stem in WINDOWS_RESERVED:
            problems.append(f"{item.local_path}: {name!r} is a reserved device name on Windows")
        elif WINDOWS_ILLEGAL.search(name):
            problems.append(f"{item.local_path}: {name!r} holds a character Windows forbids in file names (<>:\"|?* or control)")
        elif name[-1] in ". ":
            problems.append(f"{item.local_path}: {name!r} ends with a dot or space, which Windows drops")
    return problems


def _tail(item: MappedDependency) -> list[str]:
    # No key (a TD rule to files the node has): only the file name is azrender's concern.
    return [re.split(r"[\\/]", item.node_path)[-1]]


def _estimate(path: str, node_os: str) -> str:
    values = NODE_VARIABLES[node_os]
    path = re.sub(r"%(\w+)%", lambda m: values.get(m.group(1), m.group(0)), path)
    return re.sub(r"\$(\w+)", lambda m: values.get(m.group(1), m.group(0)), path)
