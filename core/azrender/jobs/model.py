"""The job spec: what a submission asks of the compute, independent of who runs it.

``build_job`` produces a :class:`JobSpec`; ``to_batch_models`` turns it into azure-batch requests
that the Batch backend sends and the local backend executes. Every record is frozen except
:class:`JobSpec` itself, which the ``azrender_adjust_job`` hook may change in place (replace its
parts with ``dataclasses.replace``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from azrender.enums import NodeOS, StorageMode

LINUX, WINDOWS = NodeOS.LINUX, NodeOS.WINDOWS
# How assets reach the renderer: copied by the preparation task, blobfuse2 (mounted by the pool or
# the preparation task), Azure Files (mounted by the pool, or `net use` on legacy Windows images).
COPY, BLOBFUSE, FILESHARE = StorageMode.COPY, StorageMode.BLOBFUSE, StorageMode.FILESHARE
STORAGE_MODES = StorageMode.values()
# Job metadata: tasks failing on one node before it gets no more of the job's tasks.
NODE_FAILURE_LIMIT_KEY = "azrender_node_failure_limit"
# Job metadata: the store key (content/...) of the job's outputs.json, so any machine with the
# profile can show its frames (azrender.backends.framestatus). A key, never a URL or SAS.
EXPECTED_OUTPUTS_KEY = "azrender_outputs"


@dataclass(frozen=True)
class Problem:
    """Something wrong with a submission: ``error`` blocks it, ``warning`` is shown."""

    severity: str  # "error" | "warning"
    message: str


@dataclass(frozen=True)
class NodeAccess:
    """How render nodes reach the store.

    ``assets_url``: the store URL nodes read and list assets and manifests from (a container URL
    with optional prefix, plus a read/list SAS when no identity is used; or ``file:///...``).
    ``outputs_url``: the store URL task output files are written to (create/write SAS, same form).
    ``identity_resource_id``: ARM id of a user-assigned managed identity of the pool; when set, the
    URLs carry no SAS and Batch and the node tool authenticate as that identity.
    ``frames_url``: the outputs store for per-frame upload, with a read/create/write SAS.
    """

    assets_url: str
    outputs_url: str
    identity_resource_id: str | None = None
    # The outputs store as the node tool's per-frame upload uses it: read/create/write (it checks
    # which frames are there before rendering); "" when it is ``outputs_url``.
    frames_url: str = ""


@dataclass(frozen=True)
class ImageRef:
    """A marketplace image (publisher/offer/sku/version) or a compute gallery image id."""

    publisher: str | None = None
    offer: str | None = None
    sku: str | None = None
    version: str = "latest"
    gallery_image_id: str | None = None  # .../galleries/G/images/I[/versions/V]


@dataclass(frozen=True)
class ResourceFileSpec:
    """One file (``http_url``) or one blob prefix (``container_url`` + ``blob_prefix``) Batch
    downloads before a task runs; ``file_path`` is relative to the task's working directory."""

    file_path: str
    http_url: str | None = None
    container_url: str | None = None
    blob_prefix: str | None = None


@dataclass(frozen=True)
class NodeTaskSpec:
    """A start, job preparation or job release task."""

    command_line: str
    resource_files: tuple[ResourceFileSpec, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    elevated: bool = False
    max_wall_clock_seconds: int | None = None
    retries: int = 0


@dataclass(frozen=True)
class MountSpec:
    """A pool mount. ``kind``: ``blobfuse`` (container, SAS or identity), ``fileshare`` (Azure Files,
    needs the storage account key, which Batch keeps in the mount's own ``accountKey`` field),
    ``nfs`` / ``cifs`` (``source``; CIFS with ``username`` and ``password``, kept by Batch in the
    mount) or ``windows-net-use`` (Windows images without Batch mounts: ``net use`` before each task
    with credentials the pool's own start task stored with ``cmdkey``). See :mod:`azrender.jobs.mounts`."""

    kind: str
    account_name: str
    container_or_share: str
    relative_mount_path: str = "azrender"
    sas_token: str | None = None  # blobfuse without identity: read/list SAS (no leading '?')
    account_key: str | None = None  # fileshare only
    options: str = ""  # blobfuse_options / mount_options; "" for the node OS's default
    drive: str = "S:"  # windows-net-use
    source: str | None = None  # nfs HOST:/export, cifs //HOST/SHARE, windows-net-use \\HOST\SHARE
    username: str | None = None  # cifs
    password: str | None = None  # cifs


@dataclass(frozen=True)
class PoolSpec:
    """A pool azrender creates (most submissions use an existing pool id instead)."""

    id: str
    vm_size: str
    image: ImageRef
    node_agent_sku: str
    node_os: str = LINUX
    dedicated_nodes: int = 0
    spot_nodes: int = 0
    task_slots: int = 1
    autoscale: object | None = None  # azrender.jobs.autoscale.AutoscaleSpec: sized by pending tasks instead
    start_task: NodeTaskSpec | None = None
    app_packages: tuple[tuple[str, str | None], ...] = ()  # (application resource id, version or None)
    mount: MountSpec | None = None  # the one serving the store (storage modes blobfuse, fileshare)
    mounts: tuple[MountSpec, ...] = ()  # others: libraries, studio file systems
    identity_resource_id: str | None = None  # user-assigned identity attached to the pool's nodes
    metadata: tuple[tuple[str, str], ...] = ()  # e.g. the Blender its start task installs (azrender.jobs.pool_blender)


@dataclass(frozen=True)
class WatchSpec:
    """The watchdog every render runs under (``azrender_node.pyz watch``): a renderer silent for
    ``hang_seconds`` (None: automatic, from the job's measured frame times, at least
    ``hang_floor_seconds``), or one frame longer than ``max_frame_seconds``, is killed and retried."""

    hang_seconds: int | None = None
    hang_floor_seconds: int = 300
    max_frame_seconds: int | None = None


@dataclass(frozen=True)
class TaskSpec:
    """One render task: a chunk of consecutive frames."""

    id: str
    frames: tuple[int, ...]
    command_line: str
    retries: int = 2
    max_wall_clock_seconds: int | None = None
    output_pattern: str = "out/**/*"  # frames, relative to the task working directory
    environment: tuple[tuple[str, str], ...] = ()
    required_slots: int | None = None  # scheduling slots it takes on a node (None: Batch's 1)
    retention_seconds: int | None = None  # how long its folder stays on the node after it ends

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]


@dataclass
class JobSpec:
    """Everything Batch needs for one job (mutable so ``azrender_adjust_job`` can edit it)."""

    id: str
    pool_id: str
    access: NodeAccess
    preparation: NodeTaskSpec
    release: NodeTaskSpec
    tasks: list[TaskSpec]
    node_os: str = LINUX
    pool: PoolSpec | None = None  # created before the job when set
    environment: tuple[tuple[str, str], ...] = ()
    display_name: str = ""
    metadata: tuple[tuple[str, str], ...] = ()
    problems: list[Problem] = field(default_factory=list)
    priority: int = 0  # -1000..1000: the pool runs higher-priority jobs' tasks first
    max_parallel_tasks: int | None = None  # at most this many of its tasks at once (None: no limit)
    recipe: dict = field(default_factory=dict)  # build_job's inputs (JSON), kept so a retry builds alike
    outputs_of: str | None = None  # the job whose output folder this job's frames go to (a retry's original)
