"""Where a submitted file is on the render node, for each storage mode and node OS.

In every mode the renderer reads the job's own view, built by the preparation task from the
submission's manifest: ``$AZ_BATCH_JOB_PREP_WORKING_DIR/view/<key>`` (Linux),
``%AZ_BATCH_JOB_PREP_WORKING_DIR%\\view\\<key>`` (Windows), so no later sync or job can change
what it reads. The view links to where the content is (:func:`store_node_base`):

copy       the node's content cache, filled by the preparation task (hard links)
blobfuse   the container mounted (Linux only): ``$AZ_BATCH_NODE_MOUNTS_DIR/<mount>/<P>`` (symbolic links)
fileshare  an SMB share: ``$AZ_BATCH_NODE_MOUNTS_DIR/<mount>/<P>`` (both OSes), or on Windows the drive
           letter it is mapped on (``S:\\<P>``, ``--share``) or its UNC path (copies where links are refused).
"""

from __future__ import annotations

import re

from azrender import layout
from azrender.discovery.model import SceneReport
from azrender.enums import NodeOS, StorageMode
from azrender.errors import UsageError
from azrender.node import pathtext
from azrender.paths.model import MappedDependency, MappingRule, map_local
from azrender.paths.portability import check_portability  # noqa: F401  (part of this module's API)
from azrender.paths.roots import storage_key

__all__ = ["node_base", "node_path", "build_rules", "map_dependencies", "check_portability", "rules_for"]


def node_base(storage_mode: str, node_os: str, *, mount_path: str = layout.DEFAULT_MOUNT_PATH,
              store_prefix: str = "", share: str | None = None) -> str:
    """The node folder that holds the job's view (``assets/...``, ``submissions/...``)."""
    store_node_base(storage_mode, node_os, mount_path=mount_path, store_prefix=store_prefix, share=share)
    if NodeOS.parse(node_os) == NodeOS.WINDOWS:
        return _join(node_os, "%AZ_BATCH_JOB_PREP_WORKING_DIR%", layout.NODE_VIEW_DIR)
    return _join(node_os, "$AZ_BATCH_JOB_PREP_WORKING_DIR", layout.NODE_VIEW_DIR)


def store_node_base(storage_mode: str, node_os: str, *, mount_path: str = layout.DEFAULT_MOUNT_PATH,
                    store_prefix: str = "", share: str | None = None) -> str:
    """Where the store itself (its ``content/``) is on the node: the mount in mounted modes, the
    node's content cache in copy mode."""
    storage_mode, node_os = StorageMode.parse(storage_mode), NodeOS.parse(node_os)
    windows = node_os == NodeOS.WINDOWS
    if storage_mode == StorageMode.COPY:  # the preparation task copies the content, without the store prefix
        return _join(node_os, "%AZ_BATCH_NODE_SHARED_DIR%" if windows else "$AZ_BATCH_NODE_SHARED_DIR",
                     layout.NODE_CACHE_DIR)
    if storage_mode == StorageMode.BLOBFUSE:
        if windows:
            raise UsageError("blobfuse mounts exist on Linux pools only; use --storage copy or fileshare for Windows")
        return _join(node_os, "$AZ_BATCH_NODE_MOUNTS_DIR", mount_path, store_prefix)
    if not windows:
        return _join(node_os, share or "$AZ_BATCH_NODE_MOUNTS_DIR/" + mount_path, store_prefix)
    if not share and not re.fullmatch(r"[A-Za-z]:?", mount_path):  # a pool mount, under the mounts folder
        return _join(node_os, "%AZ_BATCH_NODE_MOUNTS_DIR%", mount_path, store_prefix)
    return _join(node_os, _windows_share(share or mount_path), store_prefix)


def node_path(key: str, *, storage_mode: str, node_os: str, mount_path: str = layout.DEFAULT_MOUNT_PATH,
              store_prefix: str = "", share: str | None = None) -> str:
    """Where the blob ``key`` (``assets/<alias>/<rel>``) is on the node; env vars unexpanded."""
    base = node_base(storage_mode, node_os, mount_path=mount_path, store_prefix=store_prefix, share=share)
    return _join(node_os, base, key)


def build_rules(roots, *, storage_mode: str, node_os: str, mount_path: str = layout.DEFAULT_MOUNT_PATH,
                store_prefix: str = "", share: str | None = None) -> list[MappingRule]:
    """One rule per asset root: its local prefix -> its folder on the node."""
    return [
        MappingRule(root.prefix, node_path(layout.asset_key(root.alias, ""), storage_mode=storage_mode,
                                           node_os=node_os, mount_path=mount_path, store_prefix=store_prefix,
                                           share=share), node_os, root.alias)
        for root in roots
    ]


def rules_for(submission, roots, *, storage_mode: str, node_os: str, plugin_manager=None, extra=(),
              **where) -> list[MappingRule]:
    """:func:`build_rules` and the ``extra`` rules (studio roots), then the ``azrender_mapping_rules``
    hook (a TD adds or changes rules)."""
    from azrender.plugins import get_plugin_manager

    rules = build_rules(roots, storage_mode=storage_mode, node_os=node_os, **where) + list(extra)
    pm = plugin_manager or get_plugin_manager()
    pm.hook.azrender_mapping_rules(submission=submission, rules=rules)
    return rules


def map_dependencies(report: SceneReport, roots, *, storage_mode: str, node_os: str,
                     mount_path: str = layout.DEFAULT_MOUNT_PATH, store_prefix: str = "",
                     share: str | None = None, rules=None) -> list[MappedDependency]:
    """Every dependency of ``report`` with its storage key and node path.

    ``rules`` (e.g. from :func:`rules_for`) decide the node path; by default those built from
    ``roots``. A dependency under a rule without an alias (files the node already has) gets no key.
    """
    if rules is None:
        rules = build_rules(roots, storage_mode=storage_mode, node_os=node_os, mount_path=mount_path,
                            store_prefix=store_prefix, share=share)
    mapped = []
    for dep in report.dependencies:
        found = map_local(dep.path, rules)
        key = None
        if found is not None and found[0].alias is not None:
            try:
                key = storage_key(dep.path, roots)
            except ValueError:
                key = None
        mapped.append(MappedDependency(dep.path, key, found[1] if found else None, dep))
    return mapped


def _join(node_os: str, *parts: str) -> str:
    sep = pathtext.node_separator(node_os)
    pieces = [p.strip("\\/") if i else p.rstrip("\\/") for i, p in enumerate(parts) if p and p.strip("\\/")]
    return sep.join(piece.replace("/", sep).replace("\\", sep) if i else piece for i, piece in enumerate(pieces))


def _windows_share(where: str) -> str:
    if re.fullmatch(r"[A-Za-z]:?", where):
        return where[0].upper() + ":"
    if where.startswith("\\\\") or where.startswith("//"):
        return "\\\\" + where.strip("\\/").replace("/", "\\")
    raise UsageError(f"a Windows node reaches an Azure Files share on a drive letter or a UNC path, not {where!r}",
                     hint="pass --share S: (the pool's relativeMountPath) or --share \\\\account.file.core.windows.net\\share")
