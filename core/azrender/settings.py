"""Settings and profiles: ``config.toml`` in azrender's config folder (``azrender.dirs.config_dir()``),
every value overridable per call (``--batch-url``, ``--storage-url``, ``--pool``, ...)::

    default_profile = "studio"

    [profiles.studio]
    batch_url = "https://studio.westeurope.batch.azure.com"
    batch_auth = "identity"            # azure-identity (az login, managed identity, ...), or "key"
    storage_url = "https://studiorender.blob.core.windows.net/assets/show1"
    outputs_url = "https://studiorender.blob.core.windows.net/renders"   # default: storage_url
    pool_id = "blender-linux"
    storage_mode = "copy"              # copy | blobfuse | fileshare
    node_os = "linux"
    vm_size = "Standard_D16s_v5"       # the existing pool's, for cost estimates
    budget = 40.0                      # per job, in the price table's currency
    scout = "auto"                     # first, middle, last frame first; or "1,50,100"
    notify_webhook = "https://hooks.slack.com/services/..."

    share = "S:"                       # fileshare on Windows nodes: drive letter or UNC path (--share)
    share_folder = "/srv/samba/render" # local backend, fileshare mode: this machine's folder of the share
    batch_account_id = "/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Batch/batchAccounts/studio"

    [profiles.studio.pool]             # only to let azrender create the pool
    vm_size = "Standard_D16s_v5"
    image = "canonical:0001-com-ubuntu-server-jammy:22_04-lts:latest"   # or a gallery image id
    node_agent_sku = "batch.node.ubuntu 22.04"
    dedicated_nodes = 4
    app_packages = ["blender:4.2.3"]   # under batch_account_id (pools need full resource ids)

    [[profiles.studio.pool.mounts]]    # any number; see azrender.jobs.mounts
    type = "nfs"
    source = "cache.studio.lan:/projects"
    path = "projects"

    [[profiles.studio.roots]]          # studio storage the nodes mount: never uploaded (azrender.paths.studio)
    path = "P:\\projects"
    mount = "projects"

Keys are never stored here: ``batch_auth = "key"`` reads the Batch account key from the
environment variable named by ``batch_key_env`` (default ``AZRENDER_BATCH_KEY``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path

from azrender.enums import NodeOS, StorageMode
from azrender.errors import UsageError

CONFIG_FILE = "config.toml"


@dataclass(frozen=True)
class PoolSettings:
    vm_size: str
    image: str
    node_agent_sku: str
    dedicated_nodes: int = 0
    spot_nodes: int = 0
    task_slots: int = 1
    app_packages: tuple[str, ...] = ()  # "name[:version]" under batch_account_id, or a full resource id
    mounts: tuple[dict, ...] = ()  # [[...pool.mounts]] tables, see azrender.jobs.mounts
    max_nodes: int | None = None  # set: autoscale from pending tasks up to this many nodes
    idle_minutes: int = 15  # autoscale: nodes wait this long for more work, then the pool scales to zero
    spot: bool = False  # autoscale Spot nodes (user-subscription Batch accounts only)


@dataclass(frozen=True)
class Settings:
    profile: str | None = None
    batch_url: str | None = None
    batch_auth: str = "identity"  # identity | key
    batch_account: str | None = None  # for key auth; default: first label of batch_url's host
    batch_key_env: str = "AZRENDER_BATCH_KEY"
    storage_url: str | None = None
    outputs_url: str | None = None
    pool_id: str | None = None
    storage_mode: StorageMode = StorageMode.COPY
    node_os: NodeOS = NodeOS.LINUX
    identity_resource_id: str | None = None
    task_timeout_seconds: int | None = None
    verify_max_bytes: int | None = None  # mounted modes: nodes hash needed files up to this size (default 256 MB)
    retries: int = 2
    hang_seconds: int | None = None  # a renderer silent this long is killed and retried (default: automatic)
    hang_floor_seconds: int = 300  # the automatic hang limit is never lower
    max_frame_seconds: int | None = None  # one frame taking longer is killed and retried
    node_failure_limit: int = 3  # tasks failing on one node before it gets no more of the job (0: never)
    priority: int = 0  # job priority, -1000..1000
    max_parallel_tasks: int | None = None  # at most this many of a job's tasks at once
    slots_per_task: int | None = None  # requiredSlots (default on pools azrender creates: the whole node)
    task_retention_minutes: int = 120  # a finished task's folder stays on the node this long
    pool_allocation_mode: str | None = None  # "BatchService" | "UserSubscription" (Spot needs the latter)
    batch_account_resource_id: str | None = None  # the account's ARM id, to read its pool allocation mode
    blender: str | None = None  # the nodes' Blender: a VERSION (4.5) or a PATH (see azrender.jobs.blender)
    blender_sha256: str | None = None  # of the official build a pinned pool installs (azrender.jobs.provision)
    pool: PoolSettings | None = None
    share: str | None = None  # fileshare mode, Windows nodes: the share's drive letter or UNC path
    share_folder: str | None = None  # local backend: the folder on this machine holding the share's files
    batch_account_id: str | None = None  # ARM id of the Batch account: application packages need full ids
    roots: tuple[dict, ...] = ()  # [[profiles.NAME.roots]]: studio folders the nodes mount (azrender.paths.studio)
    share_tier: str = "standard"  # the fileshare store's Azure Files tier: standard | premium (scale advice)
    share_quota_gib: int = 0  # a premium share's provisioned size (its throughput scales with it)
    vm_size: str | None = None  # of an existing pool, for the cost estimate (a [pool] gives its own)
    budget: float | None = None  # per job: past it no new task starts and the job is held
    scout: str | None = None  # "auto" (first, middle, last) or frames: render these first and check them
    notify_webhook: str | None = None  # Slack/Teams-style incoming webhook, told when a job ends
    notify_desktop: bool = True

    def __post_init__(self):
        for name, choice in _CHOICES.items():
            object.__setattr__(self, name, choice.parse(getattr(self, name)))

    @property
    def has_batch(self) -> bool:
        return bool(self.batch_url)

    def with_overrides(self, **values) -> "Settings":
        """Per-call values (None means "keep the configured one")."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


_TYPES = {f.name: f.type for f in fields(Settings)}
_CHOICES = {"storage_mode": StorageMode, "node_os": NodeOS}  # checked when config.toml is read


def config_path() -> Path:
    from azrender.dirs import config_dir

    return config_dir() / CONFIG_FILE


def _line_of(text: str, key: str) -> str:
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return f", line {number}"
    return ""


def _check(path: Path, text: str, table: dict, spec, where: str) -> dict:
    known = {f.name: f for f in fields(spec)}
    out = {}
    for key, value in table.items():
        if key not in known:
            raise UsageError(f"{path}{_line_of(text, key)}: unknown setting {key!r} in [{where}]",
                             hint=f"known: {', '.join(sorted(k for k in known if k != 'profile'))}")
        expected = known[key].type
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 if "float" in expected else
              isinstance(value, int) and not isinstance(value, bool) if "int" in expected else
              isinstance(value, bool) if expected == "bool" else
              isinstance(value, list) and all(isinstance(v, dict) for v in value) if key in ("mounts", "roots") else
              isinstance(value, list) and all(isinstance(v, str) for v in value) if "tuple" in expected else
              isinstance(value, dict) if key == "pool" else isinstance(value, str))
        if not ok:
            raise UsageError(f"{path}{_line_of(text, key)}: {key} in [{where}] has the wrong type "
                             f"({type(value).__name__}; expected {expected.split(' |')[0]})")
        if key in _CHOICES:
            value = _CHOICES[key].parse(value, f"{path}{_line_of(text, key)}: {key} in [{where}]")
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


def load_settings(profile: str | None = None, *, path: Path | None = None) -> Settings:
    """The named (or default) profile; an absent file gives defaults (the local backend)."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if profile:
            raise UsageError(f"no profile {profile!r}: {path} does not exist") from None
        return Settings()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10 (Blender 3.x, Maya 2024)
        import tomli as tomllib
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: malformed TOML: {exc}") from None
    unknown = set(doc) - {"default_profile", "profiles", "prices"}  # [prices]: azrender.cost.prices
    if unknown:
        key = sorted(unknown)[0]
        raise UsageError(f"{path}{_line_of(text, key)}: unknown top-level setting {key!r}",
                         hint="put settings under [profiles.NAME]")
    profiles = doc.get("profiles", {})
    if not isinstance(profiles, dict):
        raise UsageError(f"{path}{_line_of(text, 'profiles')}: profiles must be a table ([profiles.NAME])")
    if not isinstance(doc.get("default_profile", ""), str):
        raise UsageError(f"{path}{_line_of(text, 'default_profile')}: default_profile must be a string")
    name = profile or doc.get("default_profile")
    if name is None:
        if len(profiles) > 1:
            raise UsageError(f"{path}: several profiles and no default_profile", hint="pass --profile NAME")
        name = next(iter(profiles), None)
    if name is None:
        return Settings()
    if name not in profiles or not isinstance(profiles[name], dict):
        raise UsageError(f"{path}: no profile {name!r}", hint=f"profiles: {', '.join(sorted(profiles)) or 'none'}")
    values = _check(path, text, profiles[name], Settings, f"profiles.{name}")
    if "roots" in values:  # checked now: a bad root fails before any work
        from azrender.paths.studio import check_tables

        check_tables(values["roots"], where=f"{path}: [[profiles.{name}.roots]]")
    if "pool" in values:
        pool = _check(path, text, values["pool"], PoolSettings, f"profiles.{name}.pool")
        missing = {"vm_size", "image", "node_agent_sku"} - set(pool)
        if missing:
            raise UsageError(f"{path}: [profiles.{name}.pool] needs {', '.join(sorted(missing))}")
        for n, table in enumerate(pool.get("mounts", ())):  # checked now: a bad mount fails before any work
            from azrender.jobs.mounts import check_table

            check_table(table, where=f"{path}: [[profiles.{name}.pool.mounts]] #{n + 1}")
        values["pool"] = PoolSettings(**pool)
    if values.get("pool_allocation_mode"):
        from azrender.enums import PoolAllocationMode

        values["pool_allocation_mode"] = PoolAllocationMode.parse(
            values["pool_allocation_mode"], f"{path}{_line_of(text, 'pool_allocation_mode')}: pool_allocation_mode").value
    return Settings(profile=name, **values)


def batch_credential(settings: Settings):
    """The credential for the Batch account: azure-identity, or the account key from the environment."""
    if settings.batch_auth == "key":
        from azure.core.credentials import AzureNamedKeyCredential

        from azrender.redact import register_secret

        key = os.environ.get(settings.batch_key_env)
        if not key:
            raise UsageError(f"batch_auth is 'key' but {settings.batch_key_env} is not set")
        register_secret(key)
        account = settings.batch_account or re.sub(r"^https?://", "", settings.batch_url or "").split(".")[0]
        return AzureNamedKeyCredential(account, key)
    if settings.batch_auth != "identity":
        raise UsageError(f"batch_auth must be 'identity' or 'key', not {settings.batch_auth!r}")
    from azrender.credentials import IdentityCredential

    return IdentityCredential(settings.batch_url or "the Batch account",
                              f"set batch_auth = \"key\" and {settings.batch_key_env} in the profile")


def pool_spec(settings: Settings, *, mount=None):
    """The :class:`~azrender.jobs.model.PoolSpec` to create from ``[profiles.X.pool]``, or None."""
    from azrender.jobs.model import ImageRef, PoolSpec

    p = settings.pool
    if p is None:
        return None
    if p.image.startswith("/"):
        image = ImageRef(gallery_image_id=p.image)
    else:
        parts = p.image.split(":")
        if len(parts) not in (3, 4):
            raise UsageError(f"pool image {p.image!r}: use publisher:offer:sku[:version] or a gallery image id")
        image = ImageRef(*parts)
    from azrender.jobs.mounts import mount_from_table

    mounts = tuple(mount_from_table(t, where=f"[[profiles.{settings.profile}.pool.mounts]] #{n + 1}")
                   for n, t in enumerate(p.mounts))
    autoscale = None
    if p.max_nodes is not None:
        from azrender.jobs.autoscale import AutoscaleSpec

        autoscale = AutoscaleSpec(max_nodes=p.max_nodes, idle_minutes=p.idle_minutes, spot=p.spot)
    return PoolSpec(id=settings.pool_id or "azrender", vm_size=p.vm_size, image=image, node_agent_sku=p.node_agent_sku,
                    node_os="windows" if "windows" in p.node_agent_sku.lower() else "linux",
                    dedicated_nodes=p.dedicated_nodes, spot_nodes=p.spot_nodes, task_slots=p.task_slots,
                    app_packages=tuple(_app_package(a, settings.batch_account_id) for a in p.app_packages),
                    mount=mount, mounts=mounts, autoscale=autoscale)


def _app_package(entry: str, account_id: str | None) -> tuple[str, str | None]:
    """(full resource id, version or None): a pool's application package references must name the
    application by its ARM id (``.../batchAccounts/NAME/applications/APP``)."""
    if entry.startswith("/subscriptions/"):
        app, _, version = entry.partition(":")
        return app, version or None
    name, _, version = entry.partition(":")
    if not account_id:
        raise UsageError(f"application package {name!r}: pools need its full resource id",
                         hint="set batch_account_id = \"/subscriptions/SUB/resourceGroups/RG/providers/"
                              "Microsoft.Batch/batchAccounts/NAME\" in the profile, or give the full id")
    if not re.fullmatch(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Batch/batchAccounts/[^/]+",
                        account_id.rstrip("/"), flags=re.IGNORECASE):
        raise UsageError(f"batch_account_id {account_id!r} is not a Batch account resource id",
                         hint="/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Batch/batchAccounts/NAME")
    return f"{account_id.rstrip('/')}/applications/{name}", version or None
