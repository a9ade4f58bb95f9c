"""Studio storage: folders every render node already sees through a pool mount (the studio's NAS
over NFS or CIFS, an HPC Cache / Avere in front of it, an Azure Files share, a Blob NFS container).
Files under them are never uploaded; their paths map to the mount, and the node's pre-render check
verifies they are there. From config.toml::

    [[profiles.studio.roots]]
    path = "P:\\\\projects"         # as artists' scenes spell it (Windows, UNC or POSIX)
    mount = "projects"            # the pool mount serving it: relativeMountPath of a [[pool.mounts]]
    folder = "/mnt/projects"      # local backend only: the folder standing for that mount

On Windows nodes a ``mount`` that is a drive letter (``P:``, a ``netuse`` mount) is used as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from azrender.errors import UsageError
from azrender.paths.model import MappingRule

_KEYS = {"path", "mount", "folder"}


@dataclass(frozen=True)
class StudioRoot:
    path: str  # the studio's prefix as scenes hold it
    mount: str  # relativeMountPath (or a Windows drive letter)
    folder: str | None = None  # local backend: this machine's folder for the mount


def check_tables(tables, *, where: str) -> tuple[StudioRoot, ...]:
    """``[[profiles.NAME.roots]]`` tables as records; one clear line for anything malformed."""
    roots = []
    for n, table in enumerate(tables, 1):
        here = f"{where} #{n}"
        if not isinstance(table, dict):
            raise UsageError(f"{here}: a root is a table with path and mount")
        unknown = set(table) - _KEYS
        if unknown:
            raise UsageError(f"{here}: unknown root setting {sorted(unknown)[0]!r}", hint="known: path, mount, folder")
        if not all(isinstance(v, str) for v in table.values()):
            raise UsageError(f"{here}: root settings are strings")
        path, mount = table.get("path", "").strip(), table.get("mount", "").strip()
        if not path or not mount:
            raise UsageError(f"{here}: a root needs path and mount")
        if not re.fullmatch(r"[A-Za-z]:", mount) and (mount.startswith(("/", "\\")) or ".." in re.split(r"[\\/]", mount)):
            raise UsageError(f"{here}: mount {mount!r} is a relativeMountPath (a folder under AZ_BATCH_NODE_MOUNTS_DIR)")
        roots.append(StudioRoot(path, mount, table.get("folder") or None))
    return tuple(roots)


def mount_folder(mount: str, node_os: str) -> str:
    """Where a mount is on the node (Batch variables unexpanded)."""
    if node_os == "windows":
        if re.fullmatch(r"[A-Za-z]:", mount):
            return mount.upper()
        return "%AZ_BATCH_NODE_MOUNTS_DIR%\\" + mount.replace("/", "\\").strip("\\")
    return "$AZ_BATCH_NODE_MOUNTS_DIR/" + mount.replace("\\", "/").strip("/")


def studio_rules(roots: tuple[StudioRoot, ...], node_os: str) -> list[MappingRule]:
    """One rule per root: its files are on the node at the mount (alias None: nothing uploaded)."""
    return [MappingRule(root.path, mount_folder(root.mount, node_os), node_os, None) for root in roots]
