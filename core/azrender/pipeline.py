"""The whole submission, one call: discover -> validate -> map paths -> sync -> build -> submit
[-> wait -> download].

Used by ``azrender submit`` and by every host plugin (which only adds what it collected through the
host API). Each stage is its own package; this module only composes them, in the order a failure
is cheapest: nothing is uploaded before discovery and validation pass, nothing is submitted before
every file is in the store.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from azrender import layout
from azrender.discovery.model import Dependency, SceneReport
from azrender.errors import JobError, MissingAssetsError, SceneError, UsageError, ValidationError

# progress(stage, done, total, message): stage is "discover" | "sync" | "submit" | "render" | "download"
ProgressCallback = Callable[[str, float, float, str], None]

HOSTS = {".blend": "blender", ".ma": "maya", ".mb": "maya", ".max": "max"}
ACCESS_LIFETIME = timedelta(days=7)  # SAS tokens given to nodes expire with the job's useful life
LOCAL_STORE_ACCOUNT = "local"  # how the local backend's pools name the local store when mounting it
LOCAL_STORE_CONTAINER = "store"
MISSING_SHOWN = 10


@dataclass(frozen=True)
class SubmitRequest:
    scene: Path
    frames: str | None = None  # None: the scene's own range when the reader knows it, else 1
    chunk: int = 1
    backend: str | None = None  # "local" | "batch"; None: batch when configured, else local
    storage_mode: str | None = None  # copy | blobfuse | fileshare; None: the profile's (default copy)
    node_os: str | None = None  # None: the profile's (default linux)
    pool_id: str | None = None
    profile: str | None = None
    batch_url: str | None = None
    storage_url: str | None = None
    host: str | None = None  # blender | maya | max; None: from the scene's extension
    renderer: str | None = None  # e.g. CYCLES, arnold, vray
    extra_dependencies: tuple[Dependency, ...] = ()  # collected in-app by a host plugin
    search_paths: tuple[Path, ...] = ()
    project: Path | None = None
    allow_missing: bool = False
    dry_run: bool = False
    wait: bool = False
    download_dir: Path | None = None
    job_name: str | None = None
    scout: str | None = None  # "auto" or frames: render and check these first (None: the profile's)
    budget: float | None = None  # past it no new task starts (None: the profile's)
    job_id: str | None = None  # given by azrender.agent.hand_over, so a restarted agent resumes the same job


@dataclass(frozen=True)
class Submission:
    """What the hooks see: the request, the scene's report and every decision made so far."""

    request: SubmitRequest
    scene: Path
    host: str
    job_id: str
    frames: tuple[int, ...]
    backend: str
    storage_mode: str
    node_os: str
    report: SceneReport
    settings: object  # azrender.settings.Settings


@dataclass(frozen=True)
class SubmitResult:
    job_id: str
    backend: str
    task_count: int
    report: SceneReport
    warnings: tuple[str, ...] = field(default_factory=tuple)
    download_dir: Path | None = None
    dry_run_requests: dict | None = None  # {"pool", "job", "tasks"} REST JSON, redacted
    sync: dict | None = None  # the sync stage's counts
    status: object | None = None  # azrender.backends.JobStatus after --wait
    watch: object | None = None  # azrender.watch.record.WatchRecord: gate state, estimate, usage

    @property
    def failed_tasks(self) -> list:
        return list(self.status.failed) if self.status is not None else []

    def to_json(self) -> dict:
        if self.dry_run_requests is not None:
            return self.dry_run_requests
        doc = {"job_id": self.job_id, "backend": self.backend, "tasks": self.task_count,
               "dependencies": len(self.report.dependencies), "missing": self.report.missing,
               "warnings": list(self.warnings), "sync": self.sync,
               "download_dir": str(self.download_dir) if self.download_dir else None}
        if self.status is not None:
            from azrender.commands.status import to_json as status_json

            doc["status"] = status_json(self.status)
        if self.watch is not None:
            from azrender.watch.view import watch_json

            doc.update(watch_json(self.watch))
        return doc


def _noop(stage: str, done: float, total: float, message: str = "") -> None:
    pass


def make_job_id(name: str) -> str:
    """A valid, unique Batch job id from a scene or job name (<= 64 chars, [A-Za-z0-9_-])."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_") or "job"
    suffix = f"-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    return stem[: 64 - len(suffix)] + suffix


def default_local_store() -> str:
    from azrender.dirs import state_dir

    folder = state_dir() / "store"
    folder.mkdir(parents=True, exist_ok=True)
    return folder.as_uri()


def _host_of(scene: Path, host: str | None) -> str:
    if host:
        return host
    try:
        return HOSTS[scene.suffix.lower()]
    except KeyError:
        raise UsageError(f"{scene}: not a scene azrender can submit (.blend, .ma, .mb, .max)") from None


def _this_os() -> str:
    return "windows" if os.name == "nt" else "linux"


def missing_assets_error(report: SceneReport, *, shown: int = MISSING_SHOWN, one_line: bool = False) -> MissingAssetsError:
    """The error naming a scene's missing files: the first ``shown``, then a count; one line for
    host dialogs and status bars, one file per line for the terminal."""
    missing = report.missing
    more = f"and {len(missing) - shown} more" if len(missing) > shown else ""
    if one_line:
        listing = ": " + ", ".join(missing[:shown]) + (f" {more}" if more else "")
    else:
        listing = ":\n  " + "\n  ".join(missing[:shown] + ([f"... {more}"] if more else []))
    name = Path(report.scene).name if one_line else report.scene
    return MissingAssetsError(f"{name}: {len(missing)} missing file(s){listing}",
                              missing=missing, hint="fix the paths, or allow missing files to render without them")


def submit(request: SubmitRequest, progress: ProgressCallback | None = None) -> SubmitResult:
    """Run the pipeline for one scene; raise an :class:`~azrender.errors.AzrenderError` that says
    what is wrong (and that nothing was submitted) when any stage refuses."""
    from azrender.discovery.scan import scan_scene
    from azrender.jobs.frames import parse_frames
    from azrender.plugins import get_plugin_manager
    from azrender.settings import load_settings

    progress = progress or _noop
    pm = get_plugin_manager()
    # as discovery sees it (links kept); an unknown ~user stays as typed
    scene = Path(os.path.abspath(os.path.expanduser(request.scene)))
    if not scene.is_file():
        raise SceneError(f"{request.scene}: no such scene file")
    host = _host_of(scene, request.host)
    settings = load_settings(request.profile).with_overrides(
        batch_url=request.batch_url, storage_url=request.storage_url, pool_id=request.pool_id,
        storage_mode=request.storage_mode, node_os=request.node_os)
    backend = request.backend or ("batch" if settings.has_batch else "local")
    if backend == "batch" and not settings.has_batch and not request.dry_run:
        raise UsageError("no Batch account configured", hint="pass --batch-url or set batch_url in config.toml")
    node_os = settings.node_os
    if backend == "local" and node_os != _this_os():
        raise UsageError(f"the local backend renders on this machine ({_this_os()}), not on {node_os} nodes")

    if backend == "local" and not request.dry_run:
        local_renderer(host)  # before any work: a missing renderer is the first thing to say
    progress("discover", 0, 1, scene.name)
    report = scan_scene(scene, search_paths=request.search_paths, project=request.project, plugin_manager=pm)
    for dep in request.extra_dependencies:
        report.add(dep)
    progress("discover", 1, 1, f"{len(report.dependencies)} files, {len(report.missing)} missing")
    if report.missing and not request.allow_missing:
        raise missing_assets_error(report)
    frames = parse_frames(request.frames or _scene_frames(scene, host) or "1")
    job_id = request.job_id or make_job_id(request.job_name or scene.stem)
    submission = Submission(request, scene, host, job_id, tuple(frames), backend, settings.storage_mode,
                            node_os, report, settings)

    warnings = [f"missing (allowed): {path}" for path in report.missing] + list(report.warnings)
    errors = []
    for problems in pm.hook.azrender_validate(submission=submission):
        for problem in problems or ():
            (errors if problem.severity == "error" else warnings).append(problem.message)

    storage_url = settings.storage_url or default_local_store()
    store_prefix = _store_prefix(storage_url)
    from azrender.paths.plan import plan_paths, write_submission_files

    plan = plan_paths(report, storage_mode=settings.storage_mode, node_os=node_os, submission=submission,
                      project=str(request.project) if request.project else None, store_prefix=store_prefix,
                      plugin_manager=pm)
    errors += list(plan.problems)
    if errors:
        raise ValidationError(f"{scene.name}: submission blocked:\n  " + "\n  ".join(errors))

    from azrender.dirs import state_dir

    work = state_dir() / "submissions" / job_id
    files = write_submission_files(plan, work)
    job_files = _content_keys(work, ("rules.json", "needed.json") + ((files.host_script.name,) if files.host_script else ()))
    uploads = list(files.uploads) + [(str(work / name), key) for name, key in job_files.items()]

    def node(key: str) -> str:
        from azrender.paths.mapping import node_path

        return node_path(key, storage_mode=settings.storage_mode, node_os=node_os, store_prefix=store_prefix)

    if request.dry_run:
        requests = _build(submission, plan, node, job_files, manifest_key=layout.manifest_key(job_id),
                          access=_dry_run_access(storage_url, settings), pm=pm)
        return SubmitResult(job_id, backend, len(requests.tasks), report, tuple(warnings),
                            dry_run_requests=requests.as_json(redacted=True))

    from azrender import jobrecord
    from azrender.backends.batch import submit_batch
    from azrender.jobs.access import node_access
    from azrender.sync import engine
    from azrender.sync.stores import open_store

    # The whole job is built (and refused, if it must be) before anything is uploaded.
    store = open_store(storage_url)
    access = node_access(store, store, expires=datetime.now(timezone.utc) + ACCESS_LIFETIME,
                         identity_resource_id=settings.identity_resource_id)
    manifest_key = layout.manifest_key(job_id)
    requests = _build(submission, plan, node, job_files, manifest_key=manifest_key, access=access, pm=pm)
    client, record = _backend_client(backend, settings, submission, storage_url, store)
    from azrender.watch import gate

    requests, watched, held = gate.start(
        requests, job_id=job_id, backend=backend, frames=frames, chunk=request.chunk,
        scout=request.scout or settings.scout, budget=request.budget or settings.budget, client=client,
        settings=settings, node_os=node_os, upload_bytes=report.total_size,
        download_dir=None if request.wait or request.download_dir is None else os.path.abspath(request.download_dir))

    progress("sync", 0, len(uploads), f"to {store.display_url}")
    synced = engine.upload(uploads, store, progress=_sync_progress(progress, len(uploads)))
    if synced.manifest is None:
        raise JobError(f"{scene.name}: the sync produced no manifest; nothing was submitted")
    store.write_bytes(manifest_key, synced.manifest.to_bytes())
    _upload_node_files(store, job_id, access)

    progress("submit", 0, 1, job_id)
    submit_batch(client, requests, complete=not held)
    total = len(watched.tasks)
    jobrecord.save(replace(record, task_count=total))
    gate.submitted(watched, held)
    pm.hook.azrender_after_submit(submission=submission, job_id=job_id, backend=backend)
    progress("submit", 1, 1, f"{job_id}: {total} task(s)" + (f", {len(held)} held until the scouts pass"
                                                             if held and watched.scout else ""))

    result = SubmitResult(job_id, backend, total, report, tuple(warnings), sync=synced.to_json(), watch=watched)
    if not request.wait:
        if held:  # someone must check the scouts and add the waves: the agent, started on demand
            from azrender import agent

            agent.ensure_running()
        return result
    dest = Path(request.download_dir or Path("renders") / job_id)
    from azrender.commands.download import download_outputs

    try:
        status = _wait(client, backend, job_id, progress)
    except KeyboardInterrupt:
        raise _cancelled(client, backend, job_id, storage_url, dest) from None
    progress("download", 0, 1, str(dest))
    fetched = download_outputs(job_id, storage_url, dest)
    progress("download", 1, 1, f"{fetched.get('downloaded', 0)} file(s)")
    from azrender.watch import record as watch_record

    return SubmitResult(job_id, backend, total, report, tuple(warnings), dest.resolve(),
                        sync=synced.to_json(), status=status, watch=watch_record.load(job_id))


def _content_keys(folder: Path, names) -> dict[str, str]:
    """Store keys for the node-side files of a submission, by content: resubmitting the same
    scene reuses them, so a node that already rendered it downloads nothing new."""
    import xxhash

    return {name: layout.join(layout.SUBMISSIONS, xxhash.xxh3_64_hexdigest((folder / name).read_bytes()), name)
            for name in names}


def _scene_frames(scene: Path, host: str) -> str | None:
    """The scene's own frame range, when its reader can tell it (Blender: the scene's start/end)."""
    if host != "blender":
        return None
    try:
        from azrender.discovery.blend import frame_range
    except ImportError:
        return None
    found = frame_range(scene)
    if not found:
        return None
    start, end, step = found
    return f"{start}-{end}" + (f"x{step}" if step > 1 else "")


def _store_prefix(storage_url: str) -> str:
    from azrender.jobs.urls import parse_store_url

    return parse_store_url(storage_url).prefix


def _sync_progress(progress: ProgressCallback, total: int):
    def report(update) -> None:
        progress("sync", update.files_done, total, f"{update.bytes_done / 1e6:.1f} MB")

    return report


def _upload_node_files(store, job_id: str, access) -> None:
    """The node tool (content-addressed, written once) and, for SAS access, the job's access file."""
    from azrender.jobs.build import node_uploads

    existing = {obj.key for obj in store.list(layout.TOOLS)}
    for key, data in node_uploads(job_id, access).items():
        if key not in existing:
            store.write_bytes(key, data)


def _dry_run_access(storage_url: str, settings):
    """Node access for --dry-run: needs no credentials; a placeholder signature stands where a SAS
    would be (and is redacted like one)."""
    from azrender.jobs.model import NodeAccess
    from azrender.jobs.urls import parse_store_url

    base = parse_store_url(storage_url)
    if settings.identity_resource_id or base.account is None:
        return NodeAccess(base.base, base.base, identity_resource_id=settings.identity_resource_id)
    url = f"{base.base}?sv=dry-run&sig=dry-run"
    return NodeAccess(url, url)


def _build(submission: Submission, plan, node, job_files: dict, *, manifest_key: str, access, pm):
    from azrender.jobs.batch_models import to_batch_models
    from azrender.jobs.build import build_job, node_tool_path

    settings, node_os = submission.settings, submission.node_os
    windows = node_os == "windows"
    tool = node_tool_path(node_os)
    python = "python" if windows else "python3"
    pre_commands = ((python, tool, "check", node(job_files["needed.json"])),)
    extra_args, pre_scripts = (), ()
    if submission.host == "blender":
        # Anything the submission copy could not make relative is remapped inside Blender (a
        # failure raises, and --python-exit-code fails the task before any frame renders).
        from azrender.paths.blender import remap_arguments

        extra_args = tuple(remap_arguments(tool, node(job_files["rules.json"])))
    elif plan_script := next((k for name, k in job_files.items() if name not in ("rules.json", "needed.json")), None):
        pre_scripts = (node(plan_script),)  # Maya's dirmap.py, 3ds Max's retarget.ms
    pool_id, pool, pool_has_mount = _pool_choice(submission, pm)
    job = build_job(job_id=submission.job_id, host=submission.host, scene=plan.submitted_node_path,
                    frames=list(submission.frames), chunk=submission.request.chunk, manifest_key=manifest_key,
                    access=access, storage_mode=submission.storage_mode, node_os=node_os,
                    pool_id=pool_id, pool=pool, pool_has_mount=pool_has_mount, renderer=submission.request.renderer,
                    executable=local_renderer(submission.host) if submission.backend == "local" else None,
                    pre_commands=pre_commands, pre_scripts=pre_scripts, extra_args=extra_args,
                    retries=settings.retries, task_timeout_seconds=settings.task_timeout_seconds,
                    display_name=f"{submission.scene.name} ({submission.host})", submission=submission, plugins=pm)
    blocking = [p.message for p in job.problems if p.severity == "error"]
    if blocking:
        raise ValidationError(f"{submission.scene.name}: submission blocked:\n  " + "\n  ".join(blocking))
    return to_batch_models(job)


# The renderer each host needs on a local machine, and the variable that points at another one.
LOCAL_RENDERERS = {"blender": ("blender", "AZRENDER_BLENDER", "apt install blender, or set AZRENDER_BLENDER"),
                   "maya": ("Render", "AZRENDER_MAYA_RENDER", "install Maya, or set AZRENDER_MAYA_RENDER"),
                   "max": ("3dsmaxcmdio.exe", "AZRENDER_3DSMAXCMD", "install 3ds Max, or set AZRENDER_3DSMAXCMD")}


def local_renderer(host: str) -> str:
    """The renderer's full path on this machine, or a clear error saying how to get one."""
    import shutil

    name, variable, how = LOCAL_RENDERERS[host]
    found = os.environ.get(variable) or shutil.which(name)
    if not found:
        raise UsageError(f"the local backend renders with {name}, which is not installed here (not on PATH)", hint=how)
    return found


def _pool_choice(submission: Submission, pm):
    """(pool id, pool spec to create or None, whether the pool mounts the store)."""
    mode = submission.storage_mode
    if submission.backend == "local":
        from azrender.backends.local.client import IMPLICIT_POOL

        return (IMPLICIT_POOL if mode == "copy" else f"{IMPLICIT_POOL}-{mode}"), None, mode != "copy"
    from azrender.settings import pool_spec

    chosen = pm.hook.azrender_choose_pool(submission=submission)
    settings = submission.settings
    if chosen:
        return chosen, None, mode != "copy"
    spec = pool_spec(settings)
    if spec is not None:
        return spec.id, spec, spec.mount is not None
    return settings.pool_id, None, mode != "copy"


def _backend_client(backend: str, settings, submission: Submission, storage_url: str, store):
    from azrender.jobrecord import JobRecord

    record = JobRecord(job_id=submission.job_id, backend=backend, scene=str(submission.scene),
                       store_url=store.display_url, batch_url=settings.batch_url, profile=settings.profile)
    if backend == "batch":
        from azrender.backends.batch import make_client
        from azrender.settings import batch_credential

        return make_client(settings.batch_url, batch_credential(settings)), record
    from azrender.backends.local import LocalBatchClient, default_root

    root = default_root()
    client = LocalBatchClient(root, store_roots=_local_store_roots(storage_url, submission.storage_mode))
    if submission.storage_mode != "copy":
        _ensure_local_mount_pool(client, submission.storage_mode, storage_url)
    return client, replace(record, local_root=str(root))


def _local_store_roots(storage_url: str, mode: str) -> dict:
    if mode == "copy":
        return {}
    if not storage_url.startswith("file:"):
        raise UsageError(f"--storage {mode} on the local backend needs a local folder store (file://...)",
                         hint="use --storage copy with a blob store, or the default local store")
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    folder = Path(url2pathname(urlsplit(storage_url).path))
    return {f"{LOCAL_STORE_ACCOUNT}/{LOCAL_STORE_CONTAINER}": folder,
            f"https://{LOCAL_STORE_ACCOUNT}.file.core.windows.net/{LOCAL_STORE_CONTAINER}": folder}


def _ensure_local_mount_pool(client, mode: str, storage_url: str) -> None:
    """The local pool that mounts the local store the way a Batch pool would mount the container."""
    from azrender.backends.local.client import IMPLICIT_POOL
    from azrender.jobs.batch_models import pool_model
    from azrender.jobs.model import ImageRef, MountSpec, NodeAccess, PoolSpec

    pool_id = f"{IMPLICIT_POOL}-{mode}"
    if client.pool_exists(pool_id):
        return
    # Azure Files pools carry the account key in the mount; the local share has none to protect.
    mount = MountSpec(kind=mode, account_name=LOCAL_STORE_ACCOUNT, container_or_share=LOCAL_STORE_CONTAINER,
                      relative_mount_path=layout.DEFAULT_MOUNT_PATH,
                      account_key="local-share-has-no-key" if mode == "fileshare" else None)
    spec = PoolSpec(id=pool_id, vm_size="local", image=ImageRef("local", "local", "local"),
                    node_agent_sku="local", dedicated_nodes=os.cpu_count() or 1, mount=mount)
    client.create_pool(pool_model(spec, NodeAccess(storage_url, storage_url)))


class Cancelled(JobError):
    exit_code = 130


def _cancelled(client, backend: str, job_id: str, storage_url: str, dest: Path) -> Cancelled:
    """Ctrl-C while waiting: the local job was terminated (a Batch job keeps running: the farm
    is not the artist's terminal); say what was rendered and bring those frames home."""
    from azrender.commands.download import download_outputs

    status = client.status(job_id) if backend == "local" else None
    fetched = download_outputs(job_id, storage_url, dest)
    done = f"{status.count('completed') - len(status.failed)} of {len(status.tasks)} task(s) had finished; " if status else ""
    what = "cancelled" if backend == "local" else "still running on Batch (stop waiting only)"
    return Cancelled(f"job {job_id} {what}: {done}{fetched.get('files', 0)} output file(s) are in {dest}",
                     hint=f"azrender status {job_id}")


def _wait(client, backend: str, job_id: str, progress: ProgressCallback):
    """Until the job ends or is held; the gate advances on every look (scouts, budget waves)."""
    from azrender.watch import gate
    from azrender.watch.record import DONE, HELD, RUNNING

    while True:
        watched = gate.advance(job_id, client=client)
        if watched is not None and watched.state == HELD:
            status = gate.job_status(client, watched)
            if all(t.state == "completed" for t in status.tasks):  # what started is done: its frames come home
                return status
        elif watched is None or (watched.state in (RUNNING, DONE) and not watched.held):
            break
        else:
            status = gate.job_status(client, watched)
        progress("render", status.count("completed"), len(watched.tasks), watched.state)
        try:
            time.sleep(0.5 if backend == "local" else 15)
        except KeyboardInterrupt:
            if backend == "local":
                client.terminate_job(job_id)
            raise
    if backend == "local":
        status = client.wait(job_id, progress=progress)
    else:
        from azrender.backends.batch import batch_status

        while True:
            status = batch_status(client, job_id)
            progress("render", status.count("completed"), len(status.tasks),
                     f"{len(status.failed)} failed" if status.failed else "")
            if status.done or status.state in ("completed", "terminated", "deleted"):
                break
            time.sleep(15)
    gate.advance(job_id, client=client, status=status)  # the end: usage, notification
    return status
