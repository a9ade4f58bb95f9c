"""A submission in two steps: :func:`plan_submission` decides everything (discover -> validate ->
map paths -> build the job) and sends nothing; :func:`execute` carries a plan out with a backend
(sync -> submit [-> wait -> download]). ``--dry-run`` is a plan, printed.

Used by ``azrender submit`` and every host plugin. Each stage is its own package; this module only
composes them, in the order a failure is cheapest.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from azrender import layout
from azrender.discovery.model import SceneReport
from azrender.enums import BackendKind, NodeOS, StorageMode
from azrender.errors import JobError, MissingAssetsError, SceneError, UsageError, ValidationError
from azrender.jobs.access import ACCESS_LIFETIME
from azrender.progress import ProgressCallback, no_progress

HOSTS = {".blend": "blender", ".ma": "maya", ".mb": "maya", ".max": "max"}
MISSING_SHOWN = 10


@dataclass(frozen=True)
class SubmitRequest:
    scene: Path
    frames: str | None = None  # None: the scene's own range when the reader knows it, else 1
    chunk: int = 1
    backend: BackendKind | None = None  # None: batch when configured, else local
    storage_mode: StorageMode | None = None  # None: the profile's (default copy)
    node_os: NodeOS | None = None  # None: the profile's (default linux)
    pool_id: str | None = None
    profile: str | None = None
    batch_url: str | None = None
    storage_url: str | None = None
    host: str | None = None  # blender | maya | max; None: from the scene's extension
    renderer: str | None = None  # e.g. CYCLES, arnold, vray; None: the scene's own
    render_settings: object | None = None  # azrender.rendersettings.model.RenderSettings collected in-app
    overrides: object | None = None  # azrender.rendersettings.model.Overrides (--override)
    device: str = "CPU"  # Cycles device: CPU | CUDA | OPTIX | HIP | ONEAPI
    report: SceneReport | None = None  # what a host plugin collected in-app: the report, not scanned again
    search_paths: tuple[Path, ...] = ()
    project: Path | None = None
    allow_missing: bool = False
    allow_paths: tuple[Path, ...] = ()  # send files from these private locations anyway (--allow-path)
    allow_broad_sas: bool = False  # pass a store SAS broader than nodes need to them as given
    dry_run: bool = False
    wait: bool = False
    download_dir: Path | None = None
    job_name: str | None = None
    share: str | None = None  # fileshare, Windows nodes: the share's drive letter or UNC path
    blender: str | None = None  # the nodes' Blender: a VERSION (4.5) or a PATH; None: the profile's
    scene_version: str | None = None  # the Blender that saved the scene, as the host recorded it
    submitting_blender: str | None = None  # the host's own Blender (or a bpy wheel's Python)
    scout: str | None = None  # "auto" or frames: render and check these first (None: the profile's)
    budget: float | None = None  # past it no new task starts (None: the profile's)
    job_id: str | None = None  # given by azrender.agent.hand_over, so a restarted agent resumes the same job

    def __post_init__(self):  # plain strings from a host panel or a script are checked here
        for name, choice in (("backend", BackendKind), ("storage_mode", StorageMode), ("node_os", NodeOS)):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, choice.parse(getattr(self, name)))


@dataclass(frozen=True)
class Submission:
    """What the hooks see: the request, the scene's report and every decision made so far."""

    request: SubmitRequest
    scene: Path
    host: str
    job_id: str
    frames: tuple[int, ...]
    backend: BackendKind
    storage_mode: StorageMode
    node_os: NodeOS
    report: SceneReport
    settings: object  # azrender.settings.Settings
    render: object = None  # azrender.jobs.renderplan.RenderPlan: task sets, frames, expected files
    retry_of: str = ""  # ``azrender retry``: the job whose failed or missing frames this one renders again

    @classmethod
    def paths_only(cls, request: SubmitRequest, report: SceneReport) -> "Submission":
        """What the path-mapping hooks see from ``azrender paths``: no job yet (no job id, frames,
        backend or settings)."""
        scene = Path(report.scene)
        return cls(request, scene, request.host or HOSTS.get(scene.suffix.lower(), ""), "", (), None,
                   request.storage_mode, request.node_os, report, None)


@dataclass(frozen=True)
class SubmissionPlan:
    """Everything decided before anything is sent. A plan with ``problems`` is blocked: it has no
    uploads and no requests, and :meth:`check` raises the error a user sees."""

    submission: Submission
    storage_url: str  # the store for assets (and outputs unless outputs_url), as configured (may carry a SAS)
    store_display_url: str  # the same without credentials
    paths: object | None = None  # azrender.paths.plan.PathPlan
    uploads: tuple[tuple[str, str], ...] = ()  # (local file, store key): assets, scene copy, node files
    manifest_key: str = ""
    access: object | None = None  # azrender.jobs.model.NodeAccess: how nodes read and write the store
    requests: object | None = None  # azrender.jobs.batch_models.BatchRequests: pool, job, tasks as sent
    expected_outputs: tuple = ()  # ExpectedOutput of every task: the files a successful render leaves
    gate: object | None = None  # azrender.watch.gate.JobGate: which tasks go first (scouts, budget waves)
    warnings: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    outputs_url: str = ""  # where tasks upload frames and logs, when not storage_url (a share cannot take them)
    recipe: dict = field(default_factory=dict)  # how the tasks were built: a retry builds alike

    job_id = property(lambda self: self.submission.job_id)
    scene = property(lambda self: self.submission.scene)
    report = property(lambda self: self.submission.report)
    backend = property(lambda self: self.submission.backend)
    storage_mode = property(lambda self: self.submission.storage_mode)
    settings = property(lambda self: self.submission.settings)

    @property
    def task_count(self) -> int:
        return len(self.requests.tasks) if self.requests is not None else 0

    def check(self) -> None:
        """Raise what blocks this plan: missing files (unless allowed), then every problem."""
        request = self.submission.request
        if self.report.missing and not request.allow_missing:
            raise missing_assets_error(self.report)
        if self.problems:
            raise ValidationError(f"{self.scene.name}: submission blocked:\n  " + "\n  ".join(self.problems))

    def to_json(self) -> dict:
        """``{"pool", "job", "tasks"}``: the REST JSON :func:`execute` sends, signatures masked;
        ``render``: the render plan they carry out (settings, overrides, task sets, expected files)."""
        self.check()
        return {**self.requests.as_json(redacted=True), "render": self.submission.render.to_json()}


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
    frames: object | None = None  # azrender.backends.framestatus.FrameReport of that status
    watch: object | None = None  # azrender.watch.record.WatchRecord: gate state, estimate, usage

    @property
    def failed_tasks(self) -> list:
        return list(self.status.failed) + list(self.status.preparation_failed) if self.status is not None else []

    def to_json(self) -> dict:
        if self.dry_run_requests is not None:
            return self.dry_run_requests
        doc = {"job_id": self.job_id, "backend": self.backend, "tasks": self.task_count,
               "dependencies": len(self.report.dependencies), "missing": self.report.missing,
               "warnings": list(self.warnings), "sync": self.sync,
               "download_dir": str(self.download_dir) if self.download_dir else None}
        if self.status is not None:
            from azrender.backends.framestatus import FrameReport

            doc["status"] = {**self.status.to_json(), **(self.frames or FrameReport()).to_json()}
        if self.watch is not None:
            from azrender.watch.view import watch_json

            doc.update(watch_json(self.watch))
        return doc


def make_job_id(name: str) -> str:
    """A valid, unique Batch job id from a scene or job name (<= 64 chars, [A-Za-z0-9_-])."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_") or "job"
    suffix = f"-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    return stem[: 64 - len(suffix)] + suffix


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


def submit(request: SubmitRequest, progress: ProgressCallback | None = None, *, plugin_manager=None) -> SubmitResult:
    """Plan, then (unless a dry run) execute with the chosen backend; raise an
    :class:`~azrender.errors.AzrenderError` that says what is wrong when any stage refuses."""
    from azrender.backends.choose import choose_backend
    from azrender.settings import load_settings

    settings = _settings(request, load_settings)
    backend = choose_backend(request.backend, settings)
    plan = plan_submission(request, backend=backend, settings=settings, progress=progress,
                           plugin_manager=plugin_manager)
    if request.dry_run:
        return SubmitResult(plan.job_id, plan.backend, plan.task_count, plan.report, plan.warnings,
                            dry_run_requests=plan.to_json())
    return execute(plan, backend, progress, plugin_manager=plugin_manager)


def _settings(request: SubmitRequest, load_settings):
    return load_settings(request.profile).with_overrides(
        batch_url=request.batch_url, storage_url=request.storage_url, pool_id=request.pool_id,
        storage_mode=request.storage_mode, node_os=request.node_os, share=request.share)


def plan_submission(request: SubmitRequest, *, backend=None, settings=None, progress: ProgressCallback | None = None,
                    plugin_manager=None) -> SubmissionPlan:
    """Decide the whole submission of ``request``: nothing is uploaded or submitted. Writes the
    scene copy and node files under the state folder (they are what would be uploaded). A
    non-dry-run plan carries the nodes' real store access (SAS), so it needs storage credentials."""
    from azrender.backends.choose import choose_backend
    from azrender.discovery.scan import scan_scene
    from azrender.paths.plan import plan_paths, write_submission_files
    from azrender.paths.studio import check_tables
    from azrender.plugins import get_plugin_manager
    from azrender.jobs.renderplan import OUTPUTS_FILE
    from azrender.settings import load_settings

    progress = progress or no_progress
    pm = plugin_manager or get_plugin_manager()
    # as discovery sees it (links kept); an unknown ~user stays as typed
    scene = Path(os.path.abspath(os.path.expanduser(request.scene)))
    if not scene.is_file():
        raise SceneError(f"{request.scene}: no such scene file")
    if request.download_dir is not None and Path(request.download_dir).exists() and not Path(request.download_dir).is_dir():
        raise UsageError(f"--download {request.download_dir}: a file, not a folder: frames are downloaded into a folder")
    host = _host_of(scene, request.host)
    settings = settings or _settings(request, load_settings)
    backend = backend or choose_backend(request.backend, settings)
    storage_url = settings.storage_url or _default_store()
    backend.check(host=host, node_os=settings.node_os, storage_mode=settings.storage_mode,
                  storage_url=storage_url, dry_run=request.dry_run)
    renderer = _renderer(request, settings, scene, host, backend)  # a too old Blender: said before any work

    progress("discover", 0, 1, scene.name)
    if request.report is not None:  # discovered once, in the host: the dependency hooks have run
        report = _for_scene(request.report, scene)
    else:
        report = scan_scene(scene, search_paths=request.search_paths, project=request.project, plugin_manager=pm)
    progress("discover", 1, 1, f"{len(report.dependencies)} files, {len(report.missing)} missing")
    missing_blocks = bool(report.missing) and not request.allow_missing
    render, render_warning = (None, None) if missing_blocks else _render_plan(request, scene, host)
    frames = sorted({frame for task in render.tasks for frame in task.frames}) if render else ()
    job_id = request.job_id or make_job_id(request.job_name or scene.stem)
    submission = Submission(request, scene, host, job_id, tuple(frames), backend.kind, settings.storage_mode,
                            settings.node_os, report, settings, render)
    blocked = SubmissionPlan(submission, storage_url, storage_url.split("?")[0])
    if missing_blocks:
        return blocked

    warnings = [f"missing (allowed): {path}" for path in report.missing] + list(report.warnings)
    warnings += [render_warning] if render_warning else []
    from azrender.private import scene_refusals

    problems = [r.line() for r in scene_refusals(report, request.allow_paths)]
    for found in pm.hook.azrender_validate(submission=submission):
        for problem in found or ():
            (problems if problem.severity == "error" else warnings).append(problem.message)
    store_prefix = _store_prefix(storage_url)
    paths = plan_paths(report, storage_mode=settings.storage_mode, node_os=settings.node_os, submission=submission,
                       project=str(request.project) if request.project else None, store_prefix=store_prefix,
                       share=settings.share, studio_roots=check_tables(settings.roots, where="[[roots]]"),
                       plugin_manager=pm, renders_here=backend.kind == BackendKind.LOCAL)
    problems += list(paths.problems)
    if problems:
        return replace(blocked, paths=paths, warnings=tuple(warnings), problems=tuple(problems))

    from azrender.dirs import state_dir

    _prune_submissions(state_dir() / "submissions")
    work = state_dir() / "submissions" / job_id
    files = write_submission_files(paths, work)
    if host == "max" and files.host_script is not None:  # 3dsmaxcmd runs one pre-render script: outputs join it
        from azrender.jobs.build import task_output_dir
        from azrender.jobs.max_elements import add_output_section

        add_output_section(files.host_script, render.settings, task_output_dir(settings.node_os), settings.node_os)
    (work / OUTPUTS_FILE).write_text(json.dumps(render.outputs_json() or {"version": 1, "tasks": {}}, indent=1))
    job_files = _content_keys(work, ("rules.json", "needed.json", OUTPUTS_FILE)
                              + ((files.host_script.name,) if files.host_script else ()))
    uploads = tuple(files.uploads) + tuple((str(work / name), key) for name, key in job_files.items())
    manifest_key = layout.manifest_key(job_id)
    outputs_url = _outputs_url(storage_url, settings, backend.kind, request.dry_run)
    access, display_url = _node_access(storage_url, outputs_url, settings, dry_run=request.dry_run,
                                       allow_broad_sas=request.allow_broad_sas)
    job = _build_job(submission, paths, job_files, store_prefix, manifest_key=manifest_key, access=access,
                     renderer=renderer, backend=backend, pm=pm,
                     expected_key=_content_key(work / OUTPUTS_FILE))
    blocking = tuple(p.message for p in job.problems if p.severity == "error")
    if blocking:
        return replace(blocked, paths=paths, warnings=tuple(warnings), problems=blocking)
    warnings += _scale_advice(settings, job, uploads)
    from azrender.jobs.batch_models import to_batch_models
    from azrender.watch.gate import plan_for

    requests = to_batch_models(job)
    if not request.dry_run:  # last, once every cheaper check passed; still before any upload
        backend.authenticate()
    gate = plan_for(submission, requests, backend, scout=request.scout or settings.scout,
                    budget=request.budget or settings.budget, dry_run=request.dry_run)
    return SubmissionPlan(submission, storage_url, display_url, paths, uploads, manifest_key, access,
                          requests, tuple(o for task in render.tasks for o in task.outputs),
                          warnings=tuple(warnings), gate=gate, recipe=job.recipe,
                          outputs_url=outputs_url if outputs_url != storage_url else "")


def execute(plan: SubmissionPlan, backend, progress: ProgressCallback | None = None, *,
            plugin_manager=None) -> SubmitResult:
    """Carry out ``plan`` with ``backend`` (:class:`~azrender.backends.base.Backend`): upload what
    the plan lists, then send exactly ``plan.requests``; with ``wait``, render and download."""
    from azrender import jobrecord
    from azrender.jobrecord import JobRecord
    from azrender.plugins import get_plugin_manager
    from azrender.sync import engine
    from azrender.sync.gc import generation as gc_generation
    from azrender.sync.stores import open_store

    plan.check()
    progress = progress or no_progress
    pm = plugin_manager or get_plugin_manager()
    request, settings, job_id = plan.submission.request, plan.settings, plan.job_id
    store = open_store(plan.storage_url)
    progress("sync", 0, len(plan.uploads), f"to {store.display_url}")
    # Content-addressed: the manifest pins each file's bytes, which nothing later can change.
    since = gc_generation(store)
    try:
        synced = engine.upload_content(list(plan.uploads), store, progress=_sync_progress(progress, len(plan.uploads)))
    except engine.Interrupted as exc:
        raise engine.Interrupted(f"{exc.message}; nothing was submitted") from None
    if synced.manifest is None:
        raise JobError(f"{plan.scene.name}: the sync produced no manifest; nothing was submitted")
    store.write_bytes(plan.manifest_key, synced.manifest.to_bytes())
    engine.settle(store, list(plan.uploads), synced.manifest, since)
    from azrender.jobs.nodetool import upload_node_tool

    upload_node_tool(store)  # the job's SAS reaches nodes through the Batch request, never the store
    if plan.requests.pool is not None:  # its start task installs the pinned xxhash wheels from the store
        from azrender.jobs.provision import upload_node_python

        upload_node_python(store)
    _forget_submission_files(plan.job_id)  # the store holds them now: a scene copy per job adds up

    progress("submit", 0, 1, job_id)
    outputs_url = plan.outputs_url or plan.storage_url
    outputs = store if outputs_url == plan.storage_url else open_store(outputs_url)
    record = JobRecord(job_id=job_id, backend=backend.kind, scene=str(plan.scene), store_url=outputs.display_url,
                       batch_url=settings.batch_url, profile=settings.profile, task_count=plan.task_count,
                       recipe=plan.recipe, expected=plan.submission.render.outputs_json() if plan.submission.render else None)
    gate = plan.gate
    jobrecord.save(backend.submit(replace(plan, requests=gate.first_requests(plan.requests)) if gate else plan, record))
    watched = gate.record(plan.requests, job_id=job_id, backend=backend.kind, node_os=plan.submission.node_os,
                          upload_bytes=plan.report.total_size,
                          download_dir=None if request.wait or request.download_dir is None
                          else os.path.abspath(request.download_dir)) if gate else None
    pm.hook.azrender_after_submit(submission=plan.submission, job_id=job_id, backend=backend.kind)
    held = len(watched.held) if watched else 0
    progress("submit", 1, 1, f"{job_id}: {plan.task_count} task(s)" + (f", {held} held for now" if held else ""))

    result = SubmitResult(job_id, backend.kind, plan.task_count, plan.report, plan.warnings, sync=synced.to_json(),
                          watch=watched)
    if not request.wait:
        if held:  # someone must check the scouts and add the waves: the agent, started on demand
            from azrender.watch.agentproc import ensure_running

            ensure_running()
        return result
    dest = Path(request.download_dir or Path("renders") / job_id)
    try:
        status = wait_job(backend, job_id, progress)
    except KeyboardInterrupt:
        raise _cancelled(backend, job_id, outputs_url, dest) from None
    progress("download", 0, 1, str(dest))
    try:
        fetched = backend.download(job_id, dest, store_url=outputs_url)
    except engine.TransferError as exc:  # the job is done: submitting again would not help
        raise JobError(f"job {job_id} ended, but its outputs did not all come home: {exc.summary}",
                       hint=f"azrender download {job_id} --dest {dest}") from None
    progress("download", 1, 1, f"{fetched.get('downloaded', 0)} file(s)")
    from azrender.report import write_report
    from azrender.watch import record as watch_record

    watched = watch_record.load(job_id)
    if dest.is_dir():
        write_report(dest, status, watched)
    from azrender.backends.framestatus import frame_report

    return replace(result, download_dir=dest.resolve(), status=status, watch=watched,
                   frames=frame_report(status, settings))


def wait_job(backend, job_id: str, progress: ProgressCallback):
    """Until the job ends or is held (``submit --wait``, ``azrender wait``); the gate advances on
    every look (scouts, budget waves), and once more at the end (usage, notification)."""
    from azrender.watch import gate
    from azrender.watch.record import HELD

    try:
        while (watched := gate.advance(job_id)) is not None and watched.held:
            status = backend.status(job_id)
            if status.stuck or watched.state == HELD and all(t.state == "completed" for t in status.tasks):
                return status  # what started is done: its frames come home, the rest waits for release
            progress("render", status.count("completed"), len(watched.tasks), watched.state)
            time.sleep(0.5 if backend.interrupt_cancels else 15)
    except KeyboardInterrupt:
        if backend.interrupt_cancels:
            backend.cancel(job_id)
        raise
    status = backend.wait(job_id, progress)
    gate.advance(job_id, status=status)
    return status


def _host_of(scene: Path, host: str | None) -> str:
    if host:
        return host
    try:
        return HOSTS[scene.suffix.lower()]
    except KeyError:
        raise UsageError(f"{scene}: not a scene azrender can submit (.blend, .ma, .mb, .max)") from None


def _for_scene(report: SceneReport, scene: Path) -> SceneReport:
    """A host's report for the submission copy it saved beside the scene (same folder, so every
    relative path holds)."""
    if report.scene == str(scene):
        return report
    copy = SceneReport(scene=str(scene), warnings=list(report.warnings), best_effort=report.best_effort)
    for dep in report.dependencies:
        copy.add(dep)
    return copy


def _default_store() -> str:
    """With no store configured, jobs use the local store (a folder under the user state folder)."""
    from azrender.backends.local.backend import default_store

    return default_store()


def _content_keys(folder: Path, names) -> dict[str, str]:
    """Store keys for the node-side files of a submission, by content: resubmitting the same
    scene reuses them, so a node that already rendered it downloads nothing new."""
    import xxhash

    return {name: layout.join(layout.SUBMISSIONS, xxhash.xxh3_64_hexdigest((folder / name).read_bytes()), name)
            for name in names}


def _content_key(path: Path) -> str:
    """The store key the sync stage gives ``path``'s bytes (xxh3-128, as azrender.sync.hashing;
    without importing the sync stage into a host's planning thread)."""
    import xxhash

    return layout.content_key(xxhash.xxh3_128_hexdigest(path.read_bytes()))


def _render_plan(request: SubmitRequest, scene: Path, host: str):
    """(render plan, warning): the scene's settings (collected in-app, else read from the file),
    the frames (--frames, else the scene's), task sets and the files each task must write."""
    from azrender.jobs.frames import check_task_count, parse_frames
    from azrender.rendersettings.model import Overrides
    from azrender.jobs.renderplan import parse_device, plan_render, try_read_settings

    render_settings, warning = request.render_settings, None
    if render_settings is None:
        render_settings, warning = try_read_settings(scene, host)
    device = parse_device(request.device)
    if device != "CPU" and host != "blender":
        raise UsageError(f"--device {device}: the render device is a Blender Cycles setting; {host} scenes choose theirs")
    frames = parse_frames(request.frames or (render_settings.frames if render_settings else None) or "1")
    check_task_count(frames, request.chunk)  # before a single task is planned
    if render_settings is not None and not render_settings.animation and frames != [render_settings.frame_start]:
        render_settings = replace(render_settings, animation=True)  # other frames asked for: render them as a sequence
    return plan_render(render_settings, frames, request.chunk, overrides=request.overrides or Overrides(),
                       device=device), warning


def _store_prefix(storage_url: str) -> str:
    from azrender.jobs.urls import parse_store_url

    return parse_store_url(storage_url).prefix


def _sync_progress(progress: ProgressCallback, total: int):
    def report(update) -> None:
        if update.bytes_total:  # bytes, not files: one large file is most of the wait
            progress("sync", update.bytes_done, update.bytes_total,
                     f"{update.files_done}/{update.files_total} files, {update.bytes_done / 1e6:.1f} MB")
        else:
            progress("sync", update.files_done, total, f"{update.bytes_done / 1e6:.1f} MB")

    return report


SUBMISSION_FILES_KEPT = timedelta(days=1)  # a plan not executed (dry run, dialog left open) keeps its files this long


def _forget_submission_files(job_id: str) -> None:
    import shutil

    from azrender.dirs import state_dir

    shutil.rmtree(state_dir() / "submissions" / job_id, ignore_errors=True)


def _prune_submissions(folder: Path) -> None:
    """Scene copies of plans never executed (dry runs), once older than :data:`SUBMISSION_FILES_KEPT`."""
    import shutil

    cutoff = time.time() - SUBMISSION_FILES_KEPT.total_seconds()
    try:
        old = [entry.path for entry in os.scandir(folder) if entry.is_dir() and entry.stat().st_mtime < cutoff]
    except OSError:
        return
    for path in old:
        shutil.rmtree(path, ignore_errors=True)


def _outputs_url(storage_url: str, settings, backend: str, dry_run: bool) -> str:
    """Where tasks upload frames and logs: Batch writes output files to Blob storage (or, on the
    local backend, a folder) only, so a share as the store needs another place for them."""
    from azrender.sync.smb_store import is_smb_url

    if settings.outputs_url:
        if is_smb_url(settings.outputs_url):
            raise UsageError(f"outputs_url {settings.outputs_url}: Batch uploads task outputs to Blob storage only",
                             hint="set outputs_url to https://ACCOUNT.blob.core.windows.net/CONTAINER")
        return settings.outputs_url
    if not is_smb_url(storage_url):
        return storage_url
    if backend == "local":
        return _default_store()
    if dry_run:
        return "https://outputs.blob.core.windows.net/renders"  # shown only; a real submission needs outputs_url
    raise UsageError(f"{storage_url} is a file share: Batch uploads task outputs to Blob storage only",
                     hint="set outputs_url = https://ACCOUNT.blob.core.windows.net/CONTAINER in the profile")


def _node_access(storage_url: str, outputs_url: str, settings, *, dry_run: bool, allow_broad_sas: bool = False):
    """(How nodes reach the stores, the assets store's URL without credentials). A dry run needs no
    credentials: a placeholder signature stands where a SAS would be (and is redacted like one)."""
    from azrender.jobs.model import NodeAccess
    from azrender.jobs.urls import parse_store_url

    if not dry_run:
        from azrender.jobs.access import node_access
        from azrender.sync.stores import open_store

        store = open_store(storage_url)
        outputs = store if outputs_url == storage_url else open_store(outputs_url)
        return node_access(store, outputs, expires=datetime.now(timezone.utc) + ACCESS_LIFETIME,
                           identity_resource_id=settings.identity_resource_id,
                           allow_broad_sas=allow_broad_sas), store.display_url

    def url(text: str) -> str:
        base = parse_store_url(text)
        if settings.identity_resource_id or base.account is None or base.is_share:
            return base.base
        return f"{base.base}?sv=dry-run&sig=dry-run"

    return (NodeAccess(url(storage_url), url(outputs_url), identity_resource_id=settings.identity_resource_id),
            parse_store_url(storage_url).base)


def _build_job(submission: Submission, paths, job_files: dict, store_prefix: str, *, manifest_key: str, access,
               renderer, backend, pm, expected_key: str | None = None):
    from azrender.jobs.build import build_job, node_tool_path, problems_path
    from azrender.jobs.model import COPY, WatchSpec
    from azrender.jobs.mounts import with_store_mount
    from azrender.jobs.urls import parse_store_url
    from azrender.paths.mapping import node_path, store_node_base

    def node(key: str) -> str:
        return node_path(key, storage_mode=submission.storage_mode, node_os=submission.node_os,
                         store_prefix=store_prefix, share=submission.settings.share)

    settings, node_os = submission.settings, submission.node_os
    tool = node_tool_path(node_os)
    python = backend.node_python(node_os)
    pre_commands = ((python, tool, "check", node(job_files["needed.json"]), "--problems", problems_path(node_os)),)
    pool = backend.pool(submission, pm)
    if renderer is not None and renderer.scene_version:  # the node's Blender must open the scene, checked first
        pre_commands += ((python, tool, "blender-version", renderer.executable or "blender", renderer.scene_version,
                          submission.scene.name) + (("--pool", pool.pool_id, "--expect", pool.blender) if pool.blender else ()),)
    # mounted modes: where the pool mounts the store, for the preparation task to link the job's view to
    store_on_node = (None if submission.storage_mode == COPY
                     else store_node_base(submission.storage_mode, node_os, store_prefix=store_prefix,
                                          share=settings.share))
    extra_args, pre_scripts = (), ()
    render = submission.render
    if submission.host == "blender":
        # Anything the submission copy could not make relative is remapped inside Blender (a
        # failure raises, and --python-exit-code fails the task before any frame renders); then
        # the render settings: output folders under the task's, device, overrides.
        from azrender.paths.blender import remap_arguments
        from azrender.jobs.renderplan import blender_arguments

        extra_args = tuple(remap_arguments(tool, node(job_files["rules.json"]))) + tuple(blender_arguments(render, tool))
    elif plan_script := next((k for name, k in job_files.items() if name not in ("rules.json", "needed.json", "outputs.json")), None):
        pre_scripts = (node(plan_script),)  # Maya's dirmap.py, 3ds Max's retarget.ms
    if submission.host == "maya" and render.settings is not None:
        extra_args = ("-an", "1" if render.settings.animation else "0")  # the names expected_outputs computed
    if pool.create is not None:  # a pool azrender creates serves the studio roots and, when mountable, the store
        _check_studio_mounts(pool.create, settings)
        create = with_store_mount(pool.create, submission.storage_mode, settings.storage_url or "", access)
        from azrender.jobs.provision import with_node_python

        create = with_node_python(create, access)  # every node can hash what it copies and reads
        pool = replace(pool, create=create, mounts_store=create.mount is not None)
    tool_on_mount = manifest_on_mount = None
    if parse_store_url(access.assets_url).is_share:  # Batch cannot download from a share: nodes read the mount
        from azrender.jobs.nodetool import node_tool_key
        from azrender.paths.mapping import _join

        tool_on_mount = _join(node_os, store_on_node, node_tool_key())
        manifest_on_mount = _join(node_os, store_on_node, manifest_key)
    executable = renderer.executable if renderer is not None else backend.executable(submission.host)
    return build_job(job_id=submission.job_id, host=submission.host, scene=paths.submitted_node_path,
                     frames=list(submission.frames), chunk=submission.request.chunk, manifest_key=manifest_key,
                     access=access, storage_mode=submission.storage_mode, node_os=node_os,
                     pool_id=pool.pool_id, pool=pool.create, pool_has_mount=pool.mounts_store,
                     renderer=submission.request.renderer or (render.settings.renderer if render.settings else None),
                     executable=executable,
                     pre_commands=pre_commands, pre_scripts=pre_scripts, extra_args=extra_args,
                     task_sets=render.task_sets, verify_outputs=node(job_files["outputs.json"]) if render.settings else None,
                     expected_key=expected_key if render.settings else None,
                     output_name=_output_name(render.settings), output_file=_max_output(render.settings),
                     retries=settings.retries, task_timeout_seconds=settings.task_timeout_seconds,
                     watch=WatchSpec(settings.hang_seconds, settings.hang_floor_seconds, settings.max_frame_seconds),
                     node_failure_limit=settings.node_failure_limit, required_slots=settings.slots_per_task,
                     retention_seconds=settings.task_retention_minutes * 60, priority=settings.priority,
                     max_parallel_tasks=settings.max_parallel_tasks,
                     display_name=f"{submission.scene.name} ({submission.host})", submission=submission, plugins=pm,
                     store_on_node=store_on_node, python=python, verify_max_bytes=settings.verify_max_bytes,
                     tool_on_mount=tool_on_mount, manifest_on_mount=manifest_on_mount)


def _scale_advice(settings, job, uploads) -> list[str]:
    """Fileshare mode: does the share keep up with every node reading the job's files at once?"""
    if settings.storage_mode != "fileshare" or settings.share_tier not in ("standard", "premium"):
        return []
    from azrender.jobs.scale import share_advice, targets

    pool = job.pool or settings.pool
    nodes = (pool.dedicated_nodes + pool.spot_nodes) if pool is not None else 0
    sizes = [os.path.getsize(local) for local, _ in uploads if os.path.isfile(local)]
    return share_advice(nodes=nodes, asset_bytes=sum(sizes), largest_file=max(sizes, default=0),
                        share=targets(settings.share_tier, settings.share_quota_gib))


def _check_studio_mounts(spec, settings) -> None:
    """Every studio root is served by a mount of the pool azrender creates (drive letters are
    the start task's or image's business)."""
    from azrender.paths.studio import check_tables

    mounted = {m.relative_mount_path.strip("/\\") for m in (spec.mount, *spec.mounts) if m is not None}
    mounted |= {m.drive.rstrip(":").upper() for m in (spec.mount, *spec.mounts) if m and m.kind == "windows-net-use"}
    for root in check_tables(settings.roots, where="[[roots]]"):
        if root.mount.strip("/\\").rstrip(":").upper() not in {p.upper() for p in mounted} and not root.mount.endswith(":"):
            raise UsageError(f"studio root {root.path} is served by mount {root.mount!r}, which pool {spec.id} does not have",
                             hint=f"add a [[profiles.{settings.profile}.pool.mounts]] with path = \"{root.mount}\"")


def _output_name(render_settings) -> str | None:
    """Files the scene names keep their names (None); Maya's are named by ``-im`` (its ``<Scene>``
    is the artist's file, not the copy the node opens); a scene not read renders ``frame_####``."""
    from azrender.rendersettings.outputs import maya_image_name

    if render_settings is None:
        return "frame"
    return maya_image_name(render_settings) if render_settings.host == "maya" else None


def _max_output(render_settings) -> str | None:
    """3ds Max: the scene's output file, relative to the task's output folder."""
    from azrender.rendersettings.outputs import max_layout

    if render_settings is None or render_settings.host != "max":
        return None
    return max_layout(render_settings)[0]


@dataclass(frozen=True)
class _Renderer:
    executable: str | None  # None: the node's default for the host
    scene_version: str | None = None  # "4.5": the Blender that saved the scene (Blender scenes)


def _renderer(request: SubmitRequest, settings, scene: Path, host: str, backend) -> _Renderer | None:
    """What renders the job; for Blender, the version that saved the scene (recorded by the
    add-on, else read from the file), which the backend's Blender must open."""
    if host != "blender":
        return None  # the backend's renderer, asked when the job is built
    from azrender.jobs.blender import scene_version
    from azrender.node.blender_version import parse, text

    version = parse(request.scene_version) if request.scene_version else scene_version(scene)
    executable = backend.blender_executable(explicit=request.blender,
                                            submitting=request.submitting_blender, scene=version,
                                            scene_name=scene.name)
    return _Renderer(executable, text(version[:2]) if version else None)


class Cancelled(JobError):
    exit_code = 130


def _cancelled(backend, job_id: str, storage_url: str, dest: Path) -> Cancelled:
    """Ctrl-C while waiting: a local job was cancelled (a Batch job keeps running: the farm is not
    the artist's terminal); say what was rendered and bring those frames home."""
    status = backend.status(job_id) if backend.interrupt_cancels else None
    fetched = backend.download(job_id, dest, store_url=storage_url)
    done = f"{status.count('completed') - len(status.failed)} of {len(status.tasks)} task(s) had finished; " if status else ""
    what = "cancelled" if backend.interrupt_cancels else f"still running on {backend.kind.capitalize()} (stop waiting only)"
    return Cancelled(f"job {job_id} {what}: {done}{fetched.get('files', 0)} output file(s) are in {dest}",
                     hint=f"azrender status {job_id}")


def retry_submission(record, plan, settings):
    """What the task hooks see for a retry (the same hooks as a submission, so a studio's command
    line and job changes apply to re-rendered frames too): the original scene and recipe, the
    retry's job id and frames, ``retry_of`` the original job; no scene report (nothing is scanned)."""
    from azrender.jobs.frames import format_frames

    recipe = record.recipe
    request = SubmitRequest(scene=Path(record.scene), frames=format_frames(plan.frames), chunk=recipe["chunk"],
                            backend=record.backend, storage_mode=recipe["storage_mode"], node_os=recipe["node_os"],
                            pool_id=recipe["pool_id"], profile=record.profile, host=recipe["host"],
                            renderer=recipe.get("renderer"), job_id=plan.retry_id)
    return Submission(request, Path(record.scene), recipe["host"], plan.retry_id, plan.frames,
                      BackendKind.parse(record.backend), StorageMode.parse(recipe["storage_mode"]),
                      NodeOS.parse(recipe["node_os"]), SceneReport(record.scene), settings, retry_of=record.job_id)
