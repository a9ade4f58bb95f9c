"""Pool mounts a profile asks for: ``[[profiles.NAME.pool.mounts]]`` in config.toml, one table per
mount, read into :class:`~azrender.jobs.model.MountSpec` records (secrets from the environment, never
from the file)::

    [[profiles.studio.pool.mounts]]
    type = "azurefiles"      # azurefiles | blobfuse | nfs | cifs | netuse
    source = "https://studiorender.file.core.windows.net/render"   # the share / container / export
    path = "azrender"        # relativeMountPath under $AZ_BATCH_NODE_MOUNTS_DIR (netuse: the drive, "S:")
    options = ""             # mount (Linux) or `net use` (Windows) options; default per OS

``source`` per type: ``azurefiles`` the share's https URL (its account key from ``AZURE_STORAGE_KEY``
or the connection string); ``blobfuse`` the container's URL (pool identity, else a read/list SAS from
the store); ``nfs`` ``HOST:/export`` (a NAS, an HPC Cache, Blob NFS ``ACCOUNT.blob.core.windows.net:/ACCOUNT/CONTAINER``);
``cifs`` ``//HOST/SHARE`` with ``user`` and its password from the variable ``password_env`` (default
``AZRENDER_SMB_PASSWORD``); ``netuse`` (Windows images without Batch mounts) the share's UNC path,
mapped with ``net use`` before each task with credentials the pool's start task stored (``cmdkey``).
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from azrender import layout
from azrender.errors import UsageError
from azrender.jobs.model import LINUX, WINDOWS, MountSpec
from azrender.redact import register_secret

MOUNT_TYPES = {"azurefiles": "fileshare", "blobfuse": "blobfuse", "nfs": "nfs", "cifs": "cifs",
               "netuse": "windows-net-use"}
_KEYS = {"type", "source", "path", "options", "user", "password_env"}

# Mount options per OS: Linux `mount` options; Windows `net use` options. Azure Files needs SMB 3
# (encrypted); CIFS mounts of a studio NAS ask for encryption too ("seal").
DEFAULT_OPTIONS = {
    ("fileshare", LINUX): "-o vers=3.0,dir_mode=0777,file_mode=0777,serverino,mfsymlinks,actimeo=30",
    ("fileshare", WINDOWS): "/persistent:Yes",
    ("cifs", LINUX): "-o vers=3.0,seal,dir_mode=0777,file_mode=0777,serverino,actimeo=30",
    ("cifs", WINDOWS): "/persistent:Yes",
    ("nfs", LINUX): "-o vers=4.1,hard,timeo=600,retrans=2",
    ("nfs", WINDOWS): "",
    ("blobfuse", LINUX): "-o allow_other -o attr_timeout=240 -o entry_timeout=240 -o negative_timeout=120",
}


def default_options(kind: str, node_os: str) -> str:
    try:
        return DEFAULT_OPTIONS[(kind, node_os)]
    except KeyError:
        raise UsageError(f"{kind} mounts are not available on {node_os} pools") from None


def azure_files_key(account: str) -> str:
    """The account key of an Azure Files share, from the environment (registered as a secret)."""
    from azrender.sync.azure_store import _connection_string_fields

    key = os.environ.get("AZURE_STORAGE_KEY")
    fields = _connection_string_fields(os.environ.get("AZURE_STORAGE_CONNECTION_STRING", ""))
    if not key and fields.get("accountname", "").lower() == account.lower():
        key = fields.get("accountkey")
    if not key:
        raise UsageError(f"mounting the Azure Files share of account {account} needs its key",
                         hint="set AZURE_STORAGE_KEY or AZURE_STORAGE_CONNECTION_STRING")
    register_secret(key)
    return key


def azure_files_mount(url: str, *, path: str = layout.DEFAULT_MOUNT_PATH, options: str = "") -> MountSpec:
    """An Azure Files mount of the share at ``url`` (``https://ACCOUNT.file.core.windows.net/SHARE``
    or ``smb://ACCOUNT.file.core.windows.net/SHARE``; a path below the share is ignored)."""
    match = re.match(r"(?i)^(?:https?|smb)://(?:[^@/]+@)?([a-z0-9]+)\.file\.core\.windows\.net(?::\d+)?/([^/?#]+)", url)
    if not match:
        raise UsageError(f"{url}: not an Azure Files share URL (https://ACCOUNT.file.core.windows.net/SHARE)")
    account, share = match.group(1).lower(), match.group(2)
    return MountSpec(kind="fileshare", account_name=account, container_or_share=share, relative_mount_path=path,
                     account_key=azure_files_key(account), options=options)


def check_table(table: dict, *, where: str) -> None:
    """The checks that need no secret (config loading): names, types, the mount type."""
    unknown = set(table) - _KEYS
    if unknown:
        raise UsageError(f"{where}: unknown mount setting {sorted(unknown)[0]!r}", hint=f"known: {', '.join(sorted(_KEYS))}")
    for key, value in table.items():
        if not isinstance(value, str):
            raise UsageError(f"{where}: mount setting {key} must be a string")
    if table.get("type", "") not in MOUNT_TYPES:
        raise UsageError(f"{where}: mount type {table.get('type', '')!r} is not one of {', '.join(MOUNT_TYPES)}")


def mount_from_table(table: dict, *, where: str) -> MountSpec:
    """One ``[[...pool.mounts]]`` table; ``where`` names it in errors (file, profile)."""
    check_table(table, where=where)
    kind_name = table["type"]
    kind = MOUNT_TYPES[kind_name]
    source = table.get("source", "").strip()
    if not source:
        raise UsageError(f"{where}: a {kind_name} mount needs a source")
    path = table.get("path", layout.DEFAULT_MOUNT_PATH if kind != "windows-net-use" else "S:")
    if kind != "windows-net-use":
        parts = path.replace("\\", "/").split("/")
        if not path or path.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", path):
            raise UsageError(f"{where}: mount path {path!r} must be a relative folder under AZ_BATCH_NODE_MOUNTS_DIR")
    elif not re.fullmatch(r"[A-Za-z]:?", path):
        raise UsageError(f"{where}: a netuse mount's path is the drive letter, such as S:, not {path!r}")
    options = table.get("options", "")
    if kind == "fileshare":
        return azure_files_mount(source, path=path, options=options)
    if kind == "blobfuse":
        parts = urlsplit(source)
        host, container = parts.hostname or "", parts.path.strip("/").split("/")[0]
        if not host.endswith(".blob.core.windows.net") or not container:
            raise UsageError(f"{where}: a blobfuse source is a container URL (https://ACCOUNT.blob.core.windows.net/CONTAINER)")
        return MountSpec(kind="blobfuse", account_name=host.split(".")[0], container_or_share=container,
                         relative_mount_path=path, options=options)
    if kind == "nfs":
        if not re.match(r"^[^/:]+:/", source):
            raise UsageError(f"{where}: an nfs source is HOST:/export, not {source!r}")
        return MountSpec(kind="nfs", account_name="", container_or_share="", source=source,
                         relative_mount_path=path, options=options)
    if kind == "cifs":
        if not re.match(r"^//[^/]+/[^/]+", source):
            raise UsageError(f"{where}: a cifs source is //HOST/SHARE, not {source!r}")
        user = table.get("user")
        variable = table.get("password_env", "AZRENDER_SMB_PASSWORD")
        password = os.environ.get(variable)
        if not user or not password:
            raise UsageError(f"{where}: a cifs mount needs user (in config.toml) and its password in {variable}")
        register_secret(password)
        return MountSpec(kind="cifs", account_name="", container_or_share="", source=source, username=user,
                         password=password, relative_mount_path=path, options=options)
    unc = source.replace("/", "\\")
    if not re.match(r"^\\\\[^\\]+\\[^\\]+", unc):
        raise UsageError(f"{where}: a netuse source is the share's UNC path (\\\\HOST\\SHARE)")
    return MountSpec(kind="windows-net-use", account_name="", container_or_share="", source=unc,
                     drive=path[0].upper() + ":", relative_mount_path=path[0].upper())


def with_store_mount(spec, mode: str, storage_url: str, access):
    """``spec`` (a :class:`~azrender.jobs.model.PoolSpec` azrender creates) mounting the store in
    the mountable modes: the profile's mount of the right kind when it lists one, else (fileshare)
    the Azure Files share that is the store."""
    from dataclasses import replace

    from azrender.jobs.urls import parse_store_url

    kinds = {"fileshare": ("fileshare", "cifs", "windows-net-use"), "blobfuse": ("blobfuse",)}.get(mode)
    if not kinds or spec.mount is not None:
        return spec
    own = next((m for m in spec.mounts if m.kind in kinds), None)
    if own is not None:
        return replace(spec, mount=own, mounts=tuple(m for m in spec.mounts if m is not own))
    if mode == "blobfuse":
        return spec  # the preparation task mounts the container with the job's own SAS (a pool's would expire)
    store = parse_store_url(access.assets_url)
    if store.account is None or not store.is_share:
        raise UsageError("--storage fileshare: the pool needs a mount of the share",
                         hint="use an Azure Files store (https://ACCOUNT.file.core.windows.net/SHARE) or add a "
                              "[[profiles.NAME.pool.mounts]] of type azurefiles, cifs or netuse")
    return replace(spec, mount=azure_files_mount(storage_url))
