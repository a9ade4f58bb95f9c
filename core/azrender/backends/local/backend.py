"""The local backend (:class:`LocalBackend`): the same job spec, run by :class:`LocalBatchClient` on
this machine, with this machine's renderers, against a local folder store by default."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from azrender import layout
from azrender.backends import JobStatus
from azrender.backends.base import Backend, PoolChoice
from azrender.enums import BackendKind
from azrender.errors import UsageError

from .client import IMPLICIT_POOL, LocalBatchClient, default_root

STORE_ACCOUNT = "local"  # how the local pools name the local store when mounting it
STORE_CONTAINER = "store"

# The renderer each host needs on a local machine, and the variable that points at another one.
RENDERERS = {"blender": ("blender", "AZRENDER_BLENDER", "apt install blender, or set AZRENDER_BLENDER"),
             "maya": ("Render", "AZRENDER_MAYA_RENDER", "install Maya, or set AZRENDER_MAYA_RENDER"),
             "max": ("3dsmaxcmdio.exe", "AZRENDER_3DSMAXCMD", "install 3ds Max, or set AZRENDER_3DSMAXCMD")}


def this_os() -> str:
    return "windows" if os.name == "nt" else "linux"


def local_renderer(host: str) -> str:
    """The renderer's full path on this machine, or a clear error saying how to get one."""
    name, variable, how = RENDERERS[host]
    found = os.environ.get(variable) or shutil.which(name)
    if not found:
        raise UsageError(f"the local backend renders with {name}, which is not installed here (not on PATH)", hint=how)
    return found


def default_store() -> str:
    """The local store (a folder under the user state folder) as a ``file://`` URL."""
    from azrender.dirs import state_dir

    folder = state_dir() / "store"
    folder.mkdir(parents=True, exist_ok=True)
    return folder.as_uri()


class LocalBackend(Backend):
    kind = BackendKind.LOCAL
    interrupt_cancels = True  # the job runs on the artist's machine: Ctrl-C stops it

    def __init__(self, settings, root: Path | None = None):
        self.settings = settings
        self.root = root

    def client(self, store_roots: dict | None = None) -> LocalBatchClient:
        return LocalBatchClient(self.root or default_root(), store_roots=store_roots or {})

    def check(self, *, host: str, node_os: str, storage_mode: str, storage_url: str, dry_run: bool) -> None:
        if node_os != this_os():
            raise UsageError(f"the local backend renders on this machine ({this_os()}), not on {node_os} nodes")
        if host == "max" and this_os() != "windows" and not os.environ.get(RENDERERS["max"][1]):
            # only a 3dsmaxcmd given explicitly (a stand-in, a compatibility layer) renders here
            raise UsageError(f"3ds Max renders on Windows only and this machine runs {this_os()}",
                             hint='render it on Azure Batch with a profile whose node_os = "windows" (config.toml)')
        if not dry_run and host != "blender":  # Blender is chosen per scene (blender_executable)
            local_renderer(host)  # a missing renderer is the first thing to say
            _store_roots(storage_url, storage_mode, self.settings.share_folder)

    def pool(self, submission, plugin_manager) -> PoolChoice:
        mode = submission.storage_mode
        roots, _ = _store_roots(submission.settings.storage_url or default_store(), mode, self.settings.share_folder)
        studio, _ = _studio_mounts(self.settings)
        if mode == "copy" and not studio:
            return PoolChoice(IMPLICIT_POOL, None, False)
        return PoolChoice(_pool_id(mode, {**roots, **studio}), None, mode != "copy")

    def executable(self, host: str) -> str | None:
        return local_renderer(host)

    def node_python(self, node_os: str) -> str:
        # the nodes are this machine: its interpreter has what the node tool can use (xxhash)
        from azrender.backends.local.client import _python

        return _python()

    def blender_executable(self, *, explicit, submitting, scene, scene_name) -> str:
        from azrender.jobs.blender import local_blender

        return local_blender(explicit=explicit, configured=self.settings.blender, submitting=submitting, scene=scene,
                            scene_name=scene_name).executable

    def pool_size(self, requests, *, dry_run: bool) -> tuple[str, int]:
        # the implicit and the mounting pools get one node per core (LocalBatchClient)
        return "local", os.cpu_count() or 1

    def submit(self, plan, record):
        from azrender.backends import batch

        roots, mount = _store_roots(plan.storage_url, plan.storage_mode, self.settings.share_folder)
        studio, studio_mounts = _studio_mounts(self.settings)
        client = self.client({**roots, **studio})
        if plan.storage_mode != "copy" or studio_mounts:
            _ensure_mount_pool(client, plan.storage_mode, plan.storage_url, mount, studio_mounts)
        batch.submit_batch(client, plan.requests)
        return replace(record, local_root=str(self.root or default_root()))

    def resumed(self, job_id: str) -> LocalBatchClient:
        """The client, once a dead runner of ``job_id`` (OOM, logout, reboot) was replaced; a
        runner that failed is a JobError."""
        client = self.client()
        client.resume(job_id)
        return client

    def wait(self, job_id: str, progress) -> JobStatus:
        return self.resumed(job_id).wait(job_id, progress=progress)

    def status(self, job_id: str) -> JobStatus:
        from azrender.backends import with_retries_of

        return with_retries_of(job_id, lambda job: self.resumed(job).status(job))

    def send(self, requests) -> None:
        from azrender.backends import batch

        batch.submit_batch(self.client(), requests)

    def download(self, job_id: str, dest: Path, *, logs: bool = False, store_url: str | None = None) -> dict:
        from azrender.layout import check_id

        from .client import NotFound

        check_id("job", job_id)  # a bad id is the user's to fix (exit 2), before any lookup
        try:
            self.resumed(job_id)
        except NotFound:
            pass  # not a job of this machine's backend: the store may still hold it
        return super().download(job_id, dest, logs=logs, store_url=store_url)

    def cancel(self, job_id: str) -> None:
        self.client().terminate_job(job_id)


def _store_roots(storage_url: str, mode: str, share_folder: str | None) -> tuple[dict, object]:
    """What the local pools mount for ``mode``: the folder behind a ``file://`` store, or the
    folder on this machine that holds an SMB share's files (``share_folder``); and that share's
    mount (None for the local store's default)."""
    if mode == "copy":
        return {}, None
    from azrender.sync.smb_store import is_smb_url, parse_smb_url

    if is_smb_url(storage_url) and mode == "fileshare":
        # The pool mounts the share as a node would (CIFS); this machine reads its files in place.
        if not share_folder:
            raise UsageError(f"{storage_url}: the local backend reads the share's files from a folder on this machine",
                             hint="set share_folder in the profile (e.g. the Samba share's path)")
        folder = Path(os.path.expanduser(share_folder))
        if not folder.is_dir():
            raise UsageError(f"share_folder {share_folder}: no such folder")
        from azrender.jobs.model import MountSpec

        loc = parse_smb_url(storage_url)
        source = f"//{loc.host}/{loc.share}"
        return {source: folder}, MountSpec("cifs", "", "", relative_mount_path=layout.DEFAULT_MOUNT_PATH,
                                           source=source, username=loc.user or "render",
                                           password="local-share-has-no-password")
    if not storage_url.startswith("file:"):
        raise UsageError(f"--storage {mode} on the local backend needs a local folder store (file://...)",
                         hint="use --storage copy with a blob store, or the default local store")
    folder = Path(url2pathname(urlsplit(storage_url).path))
    return {f"{STORE_ACCOUNT}/{STORE_CONTAINER}": folder,
            f"https://{STORE_ACCOUNT}.file.core.windows.net/{STORE_CONTAINER}": folder}, None


def _studio_mounts(settings) -> tuple[dict, tuple]:
    """The studio roots' mounts (``[[profiles.NAME.roots]]``): on this machine each mount is the
    folder the root names (``folder``); returns ``({source: folder}, (MountSpec, ...))``."""
    from azrender.jobs.model import MountSpec
    from azrender.paths.studio import check_tables

    roots, mounts = {}, []
    for root in check_tables(settings.roots, where="[[roots]]"):
        if not root.folder:
            raise UsageError(f"studio root {root.path}: the local backend needs the folder standing for mount "
                             f"{root.mount!r}", hint="add folder = \"...\" to that [[profiles.NAME.roots]] entry")
        folder = Path(os.path.expanduser(root.folder))
        if not folder.is_dir():
            raise UsageError(f"studio root {root.path}: folder {root.folder} does not exist")
        source = f"localhost:{folder}"
        roots[source] = folder
        mounts.append(MountSpec("nfs", "", "", relative_mount_path=root.mount, source=source))
    return roots, tuple(mounts)


def _pool_id(mode: str, roots: dict) -> str:
    """One local pool per storage mode and what its mounts stand for (a share, studio folders, the
    local store)."""
    if any(not key.startswith(("https://", f"{STORE_ACCOUNT}/")) for key in roots):  # named by what it mounts
        import xxhash

        what = repr(sorted((key, str(folder)) for key, folder in roots.items())).encode()
        return f"{IMPLICIT_POOL}-{mode}-{xxhash.xxh3_64_hexdigest(what)[:10]}"
    return f"{IMPLICIT_POOL}-{mode}"


def _ensure_mount_pool(client: LocalBatchClient, mode: str, storage_url: str, mount=None, others=()) -> None:
    """The local pool that mounts the store the way a Batch pool would mount the container or share."""
    from azrender.jobs.batch_models import pool_model
    from azrender.jobs.model import ImageRef, MountSpec, NodeAccess, PoolSpec

    pool_id = _pool_id(mode, client.store_roots)
    if client.pool_exists(pool_id):
        return
    # Azure Files pools carry the account key in the mount; the local share has none to protect.
    if mount is None and mode != "copy":
        mount = MountSpec(kind=mode, account_name=STORE_ACCOUNT, container_or_share=STORE_CONTAINER,
                          relative_mount_path=layout.DEFAULT_MOUNT_PATH,
                          account_key="local-share-has-no-key" if mode == "fileshare" else None)
    spec = PoolSpec(id=pool_id, vm_size="local", image=ImageRef("local", "local", "local"),
                    node_agent_sku="local", dedicated_nodes=os.cpu_count() or 1, mount=mount, mounts=tuple(others))
    client.create_pool(pool_model(spec, NodeAccess(storage_url, storage_url)))  # the mount is all it reads
