"""Build the :class:`JobSpec` of a submission: the preparation task that brings assets to each node
(or mounts them), the release task, and one render task per chunk of frames. Pure: no I/O, so a
dry run and the tests see exactly what would be submitted.
"""

from __future__ import annotations

import re
from dataclasses import asdict, replace

from azrender import layout
from azrender.errors import UsageError
from azrender.jobs import commands
from azrender.jobs.frames import chunk_frames, format_frames, parse_frames
from azrender.jobs.model import (BLOBFUSE, COPY, EXPECTED_OUTPUTS_KEY, FILESHARE, LINUX, NODE_FAILURE_LIMIT_KEY,
                                 STORAGE_MODES, WINDOWS, JobSpec, NodeAccess, NodeTaskSpec, PoolSpec, Problem, ResourceFileSpec, TaskSpec,
                                 WatchSpec)
from azrender.jobs.nodetool import FILE_NAME as TOOL_FILE
from azrender.jobs.urls import parse_store_url
from azrender.layout import check_id

MANIFEST_FILE = "manifest.json"
OUTPUT_DIR = "out"  # frames, relative to the task working directory
PREP_TIMEOUT_SECONDS = 4 * 3600
TASK_TIMEOUT_SECONDS = 24 * 3600  # a hung renderer must not bill a node forever
TASK_RETENTION_SECONDS = 2 * 3600  # frames and logs are in the store: free the node's disk soon
RELEASE_TIMEOUT_SECONDS = 5 * 60  # Batch allows at most 15 minutes
OUTPUTS_SAS_VARIABLE = "AZRENDER_OUTPUTS_SAS"  # azrender.node.frames.OUTPUTS_SAS_VARIABLE


def task_id(first: int, last: int, label: str = "") -> str:
    """``frames-0001-0010``: sortable, readable, unique per chunk (negative frames as ``m5``);
    prefixed by the task set's layer and camera when it has them (``chars-shotCam-frames-0101``)."""
    def f(n: int) -> str:
        return f"{n:04d}" if n >= 0 else f"m{-n:04d}"

    base = f"frames-{f(first)}" if first == last else f"frames-{f(first)}-{f(last)}"
    label = re.sub(r"[^A-Za-z0-9_-]", "_", label)[:layout.MAX_ID - len(base) - 1]
    return f"{label}-{base}" if label else base


_TASK_ID = re.compile(r"^(?:[A-Za-z0-9_-]+-)?frames-(m?\d+)(?:-(m?\d+))?$")  # a layer/camera label may lead


def task_output_dir(node_os: str) -> str:
    """The task's output folder as a node path (its Batch variable expands on the node)."""
    task_dir = "$AZ_BATCH_TASK_WORKING_DIR" if node_os == LINUX else "%AZ_BATCH_TASK_WORKING_DIR%"
    return commands.node_join(node_os, task_dir, OUTPUT_DIR)


def task_runs(frames: list[int], chunk: int, task_sets=(None,)) -> list[tuple[str, object, list[int]]]:
    """(task id, task set, frames) of every render task: each task set's frames in chunks
    (``task_sets``: :class:`azrender.rendersettings.model.TaskSet`, or None for a plain job).
    The plan, the job and a retry of some of its frames all name their tasks here."""
    return [(task_id(run[0], run[-1], task_set.label if task_set else ""), task_set, run)
            for task_set in task_sets for run in chunk_frames(frames, chunk)]


def task_set_prefix(task: str) -> str:
    """The layer/camera part of a task id (``chars-shotCam-`` of ``chars-shotCam-frames-0101``)."""
    return task.rpartition("frames-")[0]


def latest_tasks(tasks) -> dict:
    """(task set prefix, frame) -> the last of ``tasks`` (objects with an ``id``, a job's first,
    its retries' after) given that frame: a retry's task stands for the frames it rendered again."""
    return {(task_set_prefix(t.id), frame): t for t in tasks for frame in task_frames(t.id)}


def task_frames(task: str) -> tuple[int, ...]:
    """The frames of a render task, from its id (chunks are runs of consecutive frames); () for a
    task azrender did not name."""
    match = _TASK_ID.match(task)
    if not match:
        return ()
    first, last = (int(g.replace("m", "-")) for g in (match.group(1), match.group(2) or match.group(1)))
    return tuple(range(first, last + 1))


def node_secrets(access: NodeAccess) -> tuple[tuple[str, str], ...]:
    """The preparation task's environment: the assets store's read/list SAS for the node tool
    (:data:`~azrender.jobs.access.SAS_VARIABLE`); none with a managed identity or a folder store."""
    from azrender.jobs.access import SAS_VARIABLE

    store = parse_store_url(access.assets_url)
    if access.identity_resource_id or not store.query:
        return ()
    return ((SAS_VARIABLE, store.query),)


def _python(node_os: str) -> str:
    return "python" if node_os == WINDOWS else "python3"


def node_tool_path(node_os: str) -> str:
    """The node tool as tasks reach it (the preparation task downloaded it into its folder); for
    ``pre_commands`` such as ``[python3, node_tool_path(os), "check", needed.json]``."""
    if node_os == WINDOWS:
        return f"%AZ_BATCH_JOB_PREP_WORKING_DIR%\\{TOOL_FILE}"
    return f"$AZ_BATCH_JOB_PREP_WORKING_DIR/{TOOL_FILE}"


def problems_path(node_os: str) -> str:
    """The preparation task's list of files that did not arrive intact (``check --problems``)."""
    if node_os == WINDOWS:
        return "%AZ_BATCH_JOB_PREP_WORKING_DIR%\\problems.json"
    return "$AZ_BATCH_JOB_PREP_WORKING_DIR/problems.json"


def preparation_task(*, job_id: str, access: NodeAccess, manifest_key: str, tool_key: str, node_os: str,
                     storage_mode: str, mount_in_prep: bool, cache_limit: int | None = None,
                     store_on_node: str | None = None, python: str | None = None,
                     verify_max_bytes: int | None = None, tool_on_mount: str | None = None,
                     manifest_on_mount: str | None = None, before: tuple = ()) -> NodeTaskSpec:
    """Brings the node tool and the submission's manifest to each node, and builds the job's view
    from it: copy mode, from the node's content cache (downloading what is missing); blobfuse
    without a pool mount, after mounting; otherwise through the pool's mount at ``store_on_node``.

    ``tool_on_mount`` / ``manifest_on_mount``: their node paths when the store is a share the pool
    mounts (Batch cannot download from a share: they are copied from the mount); ``before``:
    commands first (``net use``)."""
    store = parse_store_url(access.assets_url)
    if tool_on_mount and manifest_on_mount:
        files = []
        copy = (lambda src, dst: ["copy", "/y", src, dst]) if node_os == WINDOWS else (lambda src, dst: ["cp", src, dst])
        fetch = [copy(tool_on_mount, TOOL_FILE), copy(manifest_on_mount, MANIFEST_FILE)]
    else:
        files = [ResourceFileSpec(TOOL_FILE, http_url=store.blob_url(tool_key)),
                 ResourceFileSpec(MANIFEST_FILE, http_url=store.blob_url(manifest_key))]
        fetch = []
    argv = [python or _python(node_os), TOOL_FILE, "prep", "--store", store.base, "--job", job_id,
            "--manifest", MANIFEST_FILE]
    if access.identity_resource_id:
        argv += ["--identity", access.identity_resource_id]
    if storage_mode == COPY:
        if cache_limit is not None:
            argv += ["--cache-limit", str(cache_limit)]
        elevated = False
    else:
        if not store_on_node:
            raise UsageError(f"--storage {storage_mode}: where the pool mounts the store is not known")
        argv += ["--content-dir", store_on_node]
        if verify_max_bytes is not None:
            argv += ["--verify-max-bytes", str(verify_max_bytes)]
        if storage_mode == BLOBFUSE and mount_in_prep:
            if node_os != LINUX:
                raise UsageError("blobfuse mounts need Linux nodes", hint="use --storage copy or fileshare on Windows")
            argv += ["--mount", "blobfuse", "--account", store.account or "", "--container", store.container,
                     "--mount-path", layout.DEFAULT_MOUNT_PATH]
            elevated = True  # mounting needs root
        else:
            argv += ["--mounted"]
            elevated = False
    return NodeTaskSpec(commands.command_line([*before, *fetch, argv], node_os), tuple(files),
                        environment=node_secrets(access), elevated=elevated,
                        max_wall_clock_seconds=PREP_TIMEOUT_SECONDS, retries=2)


def frame_upload(access: NodeAccess, job_id: str, outputs_of: str | None) -> tuple[list[str], tuple[tuple[str, str], ...]]:
    """(watch arguments, task environment) that make the node tool upload each frame to the job's
    outputs as soon as it is finished (see ``azrender.node.frames``); ([], ()) when the outputs
    store is a share (nodes reach it only through a mount). The outputs SAS travels as a task
    environment setting (:data:`OUTPUTS_SAS_VARIABLE`), never on the command line."""
    store = parse_store_url(access.outputs_url)
    if store.is_share:
        return [], ()
    args = ["--upload-to", store.container_url, "--upload-prefix", store.key(layout.job_key(outputs_of or job_id, "outputs"))]
    if access.identity_resource_id:
        return args + ["--identity", access.identity_resource_id], ()
    return args, outputs_secrets(access)


def outputs_secrets(access: NodeAccess) -> tuple[tuple[str, str], ...]:
    """The render tasks' one environment setting that carries a secret: the outputs SAS for
    per-frame upload (read/create/write)."""
    store = parse_store_url(access.frames_url or access.outputs_url)
    return ((OUTPUTS_SAS_VARIABLE, store.query),) if store.query and not access.identity_resource_id else ()


def watch_argv(node_os: str, watch: WatchSpec, extra: list[str] = ()) -> list[str]:
    """The watchdog in front of a renderer's argv; frame times are kept per job on each node;
    ``extra``: more watch options (per-frame upload)."""
    shared = "%AZ_BATCH_NODE_SHARED_DIR%" if node_os == WINDOWS else "$AZ_BATCH_NODE_SHARED_DIR"
    job = "%AZ_BATCH_JOB_ID%" if node_os == WINDOWS else "$AZ_BATCH_JOB_ID"
    argv = [_python(node_os), node_tool_path(node_os), "watch", "--outputs", OUTPUT_DIR,
            "--hang", "auto" if watch.hang_seconds is None else str(watch.hang_seconds),
            "--hang-floor", str(watch.hang_floor_seconds),
            "--times", commands.node_join(node_os, shared, layout.NODE_CACHE_DIR, "frame-times", f"{job}.txt")]
    if watch.max_frame_seconds is not None:
        argv += ["--max-frame", str(watch.max_frame_seconds)]
    return [*argv, *extra, "--"]


def release_task(*, job_id: str, node_os: str, unmount: bool, python: str | None = None) -> NodeTaskSpec:
    # The release task runs in its own folder: reach the tool in the preparation task's folder.
    argv = [python or _python(node_os), node_tool_path(node_os), "release", "--job", job_id]
    if unmount:
        argv += ["--unmount", layout.DEFAULT_MOUNT_PATH]
    return NodeTaskSpec(commands.command_line([argv], node_os), elevated=unmount,
                        max_wall_clock_seconds=RELEASE_TIMEOUT_SECONDS)


def build_job(*, job_id: str, host: str, scene: str, frames: str | list[int], chunk: int, manifest_key: str,
              access: NodeAccess, tool_key: str | None = None, storage_mode: str = COPY, node_os: str = LINUX,
              pool_id: str | None = None, pool: PoolSpec | None = None, renderer: str | None = None,
              executable: str | None = None, project: str | None = None, pre_scripts: tuple[str, ...] = (),
              pre_commands: tuple[tuple[str, ...], ...] = (), extra_args: tuple[str, ...] = (),
              pool_has_mount: bool = False, retries: int = 2, task_timeout_seconds: int | None = None,
              cache_limit: int | None = None, display_name: str = "", submission=None, plugins=None,
              outputs_of: str | None = None, watch: WatchSpec | None = None,
              node_failure_limit: int | None = None, required_slots: int | None = None,
              retention_seconds: int | None = TASK_RETENTION_SECONDS, priority: int = 0,
              max_parallel_tasks: int | None = None, store_on_node: str | None = None, python: str | None = None,
              verify_max_bytes: int | None = None, tool_on_mount: str | None = None,
              manifest_on_mount: str | None = None, task_sets=None,
              verify_outputs: str | None = None, output_name: str | None = "frame",
              output_file: str | None = None, expected_key: str | None = None) -> JobSpec:
    """The job spec for rendering ``scene`` (its node path, as mapped for ``storage_mode``).

    ``pre_commands`` run before the renderer in every task (argv lists, e.g. the node-side check,
    see :func:`node_tool_path`); ``extra_args`` go to the renderer before its frame arguments (e.g.
    Blender's node-side remap); ``task_timeout_seconds`` defaults to 24 hours;
    ``task_sets`` (:class:`azrender.rendersettings.model.TaskSet`) render ``frames`` once per layer
    x camera, as the render plan does (:func:`task_runs`); ``verify_outputs`` (node path of
    ``outputs.json``) makes each task fail when files it had to write are missing, ``expected_key``
    (its store key) goes to the job's metadata for ``status`` on any machine; ``output_name``
    None keeps the scene's own file names; ``outputs_of`` names
    the job whose output folder the frames go to (a retry's frames land beside the others);
    ``watch`` runs each render under the node watchdog (hangs and runaway frames killed, retried);
    ``node_failure_limit``: after that many of its tasks failed on a node it gets no more of the
    job's tasks (recorded in the job's metadata); ``required_slots`` per task defaults, on a pool
    this call creates, to all of its slots (renderers use the whole machine); ``priority`` and
    ``max_parallel_tasks`` go to the job;
    ``pool`` creates a pool (its mount, if any, serves ``storage_mode``); with only ``pool_id``,
    ``pool_has_mount`` says the existing pool already mounts the store, ``store_on_node`` where
    (mounted modes; see :func:`azrender.paths.mapping.store_node_base`); ``python`` runs the node
    tool (default ``python3``/``python``); ``verify_max_bytes`` caps what mounted modes hash. The
    ``azrender_task_command_line`` hook may replace each task's command line and
    ``azrender_adjust_job`` may change the finished spec.
    """
    check_id("job", job_id)
    if storage_mode not in STORAGE_MODES:
        raise UsageError(f"unknown storage mode {storage_mode!r}", hint=f"use one of {', '.join(STORAGE_MODES)}")
    if pool is not None:
        pool_id, node_os = pool.id, pool.node_os
        pool_has_mount = pool.mount is not None
    if not pool_id:
        raise UsageError("no pool: give --pool ID or configure one (pool_id in the profile)")
    check_id("pool", pool_id)
    if not -1000 <= priority <= 1000:
        raise UsageError(f"job priority must be between -1000 and 1000, not {priority}")
    if max_parallel_tasks is not None and max_parallel_tasks < 1:
        raise UsageError(f"max_parallel_tasks must be at least 1, not {max_parallel_tasks}")
    if required_slots is None and pool is not None and pool.task_slots > 1:
        required_slots = pool.task_slots
    if required_slots is not None and pool is not None and required_slots > pool.task_slots:
        raise UsageError(f"a task cannot take {required_slots} slots on pool {pool.id}: its nodes have {pool.task_slots}")
    frame_list = parse_frames(frames) if isinstance(frames, str) else sorted(set(frames))
    problems = []
    if pool is not None and access.identity_resource_id:
        problems.append(Problem("warning", f"pool {pool.id} must have the managed identity "
                                           f"{access.identity_resource_id}: Batch's API cannot attach one, "
                                           "create such pools through ARM or the portal"))
    if storage_mode == FILESHARE and not pool_has_mount:
        problems.append(Problem("error", f"--storage fileshare needs a pool that mounts the share; pool {pool_id} "
                                         "is not known to mount it (give a pool spec with a fileshare mount, or set pool_has_mount)"))
    mount_in_prep = storage_mode == BLOBFUSE and not pool_has_mount
    if store_on_node is None and storage_mode != COPY:  # the pool's mount, holding the store's prefix
        from azrender.paths.mapping import store_node_base

        mount = pool.mount if pool is not None else None
        where = (mount.drive if mount.kind == "windows-net-use" else mount.relative_mount_path) if mount else None
        store_on_node = store_node_base(storage_mode, node_os, mount_path=where or layout.DEFAULT_MOUNT_PATH,
                                        store_prefix=parse_store_url(access.assets_url).prefix)
    if tool_key is None:
        from azrender.jobs.nodetool import node_tool_key

        tool_key = node_tool_key()
    mount_commands = _mount_commands(pool, node_os)
    prep = preparation_task(job_id=job_id, access=access, manifest_key=manifest_key, tool_key=tool_key,
                            node_os=node_os, storage_mode=storage_mode, mount_in_prep=mount_in_prep,
                            cache_limit=cache_limit, store_on_node=store_on_node, python=python,
                            verify_max_bytes=verify_max_bytes, tool_on_mount=tool_on_mount,
                            manifest_on_mount=manifest_on_mount, before=tuple(mount_commands))
    release = release_task(job_id=job_id, node_os=node_os, unmount=mount_in_prep, python=python)

    hook = None
    if submission is not None or plugins is not None:
        from azrender.plugins import get_plugin_manager

        hook = (plugins or get_plugin_manager()).hook
    prefix_commands = mount_commands + [list(c) for c in pre_commands]
    # Frames upload one by one as they finish when the plan knows each task's files (its outputs.json).
    upload, upload_env = frame_upload(access, job_id, outputs_of) if verify_outputs and watch is not None else ([], ())
    tasks = []
    for tid, task_set, run in task_runs(frame_list, chunk, task_sets or (None,)):
        render = commands.RenderChunk(scene=scene, first=run[0], last=run[-1],
                                      output_dir=task_output_dir(node_os),
                                      node_os=node_os, renderer=renderer, executable=executable, project=project,
                                      pre_scripts=pre_scripts, extra_args=extra_args,
                                      layer=task_set.layer if task_set else None,
                                      camera=task_set.camera if task_set else None,
                                      output_name=output_name, output_file=output_file)
        argv = commands.render_argv(host, render)
        after = [[python or _python(node_os), node_tool_path(node_os), "verify", verify_outputs, tid]] if verify_outputs else []
        if watch is not None:
            extra = [*upload, "--expected", verify_outputs, "--task", tid] if upload else []
            argv = watch_argv(node_os, watch, extra) + argv
        task = TaskSpec(tid, tuple(run), commands.command_line([*prefix_commands, argv, *after], node_os),
                        retries=retries, max_wall_clock_seconds=task_timeout_seconds or TASK_TIMEOUT_SECONDS,
                        output_pattern=f"{OUTPUT_DIR}/**/*", required_slots=required_slots,
                        retention_seconds=retention_seconds, environment=upload_env)
        if hook is not None:
            replaced = hook.azrender_task_command_line(submission=submission, task=task, command_line=task.command_line)
            if replaced:
                task = replace(task, command_line=replaced)
        tasks.append(task)
    # Everything but the job id, frames, access and pool creation: a retry builds its tasks from it.
    recipe = dict(host=host, scene=scene, chunk=chunk, manifest_key=manifest_key, tool_key=tool_key,
                  storage_mode=storage_mode, node_os=node_os, pool_id=pool_id, pool_has_mount=pool_has_mount,
                  renderer=renderer, executable=executable, project=project, pre_scripts=list(pre_scripts),
                  pre_commands=[list(c) for c in pre_commands], extra_args=list(extra_args), retries=retries,
                  task_timeout_seconds=task_timeout_seconds, cache_limit=cache_limit, display_name=display_name,
                  frames=format_frames(frame_list), watch=asdict(watch) if watch else None,
                  node_failure_limit=node_failure_limit, required_slots=required_slots,
                  retention_seconds=retention_seconds, priority=priority, max_parallel_tasks=max_parallel_tasks,
                  store_on_node=store_on_node, python=python, verify_max_bytes=verify_max_bytes,
                  verify_outputs=verify_outputs, output_name=output_name, output_file=output_file,
                  task_sets=[[s.layer, s.camera] for s in task_sets] if task_sets else None)
    metadata = (("azrender_host", host), ("azrender_manifest", manifest_key))
    if node_failure_limit:
        metadata += ((NODE_FAILURE_LIMIT_KEY, str(node_failure_limit)),)
    if expected_key:
        metadata += ((EXPECTED_OUTPUTS_KEY, expected_key),)
    job = JobSpec(id=job_id, pool_id=pool_id, access=access, preparation=prep, release=release, tasks=tasks,
                  node_os=node_os, pool=pool, display_name=display_name or job_id,
                  metadata=metadata, problems=problems,
                  recipe=recipe, outputs_of=outputs_of, priority=priority, max_parallel_tasks=max_parallel_tasks)
    if hook is not None:
        hook.azrender_adjust_job(submission=submission, job=job)
    return job


def _mount_commands(pool: PoolSpec | None, node_os: str) -> list[str]:
    """Legacy Windows images: map the share before each task unless an earlier task on the node
    did (credentials from the ``cmdkey`` the pool's own start task ran: never in a task)."""
    if pool is None or pool.mount is None or pool.mount.kind != "windows-net-use" or node_os != WINDOWS:
        return []
    m = pool.mount
    share = m.source or f"\\\\{m.account_name}.file.core.windows.net\\{m.container_or_share}"
    return [f"(if not exist {m.drive}\\ net use {m.drive} {share} /persistent:no)"]
