"""Operators: refresh the dependency list, submit (handed to the background agent, which uploads
and brings the frames back even after Blender is closed), refresh job status, download a job's
outputs, retry its failed frames; the live job list and the selected job's last frame."""

from __future__ import annotations

import bpy

from azrender.errors import AzrenderError, MissingAssetsError, ValidationError
from azrender.hosts.background import Background, error_line, hand_over_in_background

from . import submission

POLL_SECONDS = 0.25
# The submission running in this Blender, if any: one at a time, since it owns the scene's copy.
_submitting: list = []


def fill_dependencies(settings, report) -> None:
    """The panel's list: missing and refused files first (a pipe or a credential file is there,
    but is not sent: the rule says why), then by kind and path."""
    from azrender.private import refused_paths

    refused = refused_paths(report)
    settings.dependencies.clear()
    for dep in sorted(report.dependencies, key=lambda d: (d.exists and d.path not in refused, d.kind.value, d.path)):
        item = settings.dependencies.add()
        item.path, item.kind, item.source, item.exists = dep.path, dep.kind.value, dep.source, dep.exists
        item.refused = refused[dep.path].rule if dep.path in refused else ""


def _redraw(context) -> None:
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type in {"PROPERTIES", "STATUSBAR"}:
                area.tag_redraw()


class AZRENDER_OT_refresh_dependencies(bpy.types.Operator):
    """List every file this scene needs; missing ones are shown in red"""

    bl_idname = "azrender.refresh_dependencies"
    bl_label = "Refresh Dependencies"

    def execute(self, context):
        try:
            report = submission.scene_report()
        except AzrenderError as exc:
            self.report({"ERROR"}, error_line(exc))
            return {"CANCELLED"}
        fill_dependencies(context.scene.azrender, report)
        missing = len(report.missing)
        refused = sum(1 for d in context.scene.azrender.dependencies if d.refused)
        summary = (f"{len(report.dependencies)} file(s)" + (f", {missing} missing" if missing else "")
                   + (f", {refused} refused" if refused else ""))
        self.report({"WARNING"} if missing or refused else {"INFO"}, summary)
        return {"FINISHED"}


class _Backgrounded:
    """Run a :class:`Background` call: blocking in ``blender -b``, else polled by a modal timer
    while the status bar shows its progress and the UI stays responsive."""

    _work = None  # the Background being polled (no annotation: Blender reads those as properties)
    _timer = None
    _shown = None  # the (percent, text) last shown

    def run_in_background(self, context, work: Background):
        self._work = work
        if bpy.app.background:
            return self.finish(context, work.wait())
        wm = context.window_manager
        self._timer = wm.event_timer_add(POLL_SECONDS, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        snapshot = self._work.poll()
        shown = (int(snapshot.fraction * 100), snapshot.text)
        if shown != self._shown:  # a redraw costs the main thread: only when the progress changed
            self._shown = shown
            context.window_manager.progress_update(shown[0])
            context.workspace.status_text_set(shown[1])
            _redraw(context)
        if not snapshot.finished:
            return {"PASS_THROUGH"}
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        return self.finish(context, snapshot)

    def finish(self, context, snapshot):
        if isinstance(snapshot.exception, (MissingAssetsError, ValidationError)):
            fill_dependencies(context.scene.azrender, submission.scene_report())  # shown in red
        if snapshot.error:
            self.report({"ERROR"}, snapshot.error)
            return {"CANCELLED"}
        level, message = self.done_message(context, snapshot.result)
        self.report({level}, message)
        return {"FINISHED"} if level != "ERROR" else {"CANCELLED"}


class AZRENDER_OT_submit(_Backgrounded, bpy.types.Operator):
    """Render this scene on Azure Batch (or on this machine): collect its files and hand the job
    to the background agent, which uploads what changed, submits it and brings the frames back
    as they finish, also after Blender is closed"""

    bl_idname = "azrender.submit"
    bl_label = "Render on Azure…"

    @classmethod
    def poll(cls, context):
        if any(not work.poll().finished for work in _submitting):
            cls.poll_message_set("a submission is already running (see the status bar)")
            return False
        return True

    def invoke(self, context, event):
        if bpy.app.version >= (4, 1, 0):  # the confirm button says what it does
            return context.window_manager.invoke_props_dialog(self, width=420, confirm_text="Submit")
        return context.window_manager.invoke_props_dialog(self, width=420)

    def draw(self, context):
        from .ui import draw_settings

        draw_settings(self.layout, context.scene.azrender, context.scene)

    def execute(self, context):
        settings = context.scene.azrender
        try:
            captured = submission.capture(settings)  # only this touches bpy; the rest runs on the worker
        except AzrenderError as exc:
            self.report({"ERROR"}, error_line(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"azrender: checking {bpy.path.basename(bpy.data.filepath)}'s files")
        work = hand_over_in_background(captured)  # checked on a worker; then the agent's
        _submitting[:] = [work]
        return self.run_in_background(context, work)

    def done_message(self, context, handed):
        settings = context.scene.azrender
        job = settings.jobs.add()
        job.job_id, job.backend = handed.job_id, handed.backend or ""  # "": the agent decides
        job.state = "uploading: waiting for the agent"
        job.download_dir = str(handed.download_dir)  # the agent brings finished frames here
        settings.job_index = len(settings.jobs) - 1  # the new job is the one Download Outputs takes
        watch_jobs()
        return "INFO", handed.line()


def _selected_job(context):
    settings = context.scene.azrender
    return settings.jobs[settings.job_index] if 0 <= settings.job_index < len(settings.jobs) else None


class AZRENDER_OT_refresh_jobs(bpy.types.Operator):
    """Ask the backend for the status of this scene's jobs"""

    bl_idname = "azrender.refresh_jobs"
    bl_label = "Refresh Jobs"

    def execute(self, context):
        settings = context.scene.azrender
        for job in settings.jobs:
            apply_status(job, _status_of(job.job_id, job.backend, settings.profile or None))
        watch_jobs()  # and the selected job's last frame
        return {"FINISHED"}


class _OnSelectedJob(_Backgrounded):
    """An operator on the job selected in the panel's list: ``work(job_id, profile)`` gives the
    call that runs in the background (``progress`` -> result)."""

    @classmethod
    def poll(cls, context):
        return _selected_job(context) is not None

    def execute(self, context):
        job_id, profile = _selected_job(context).job_id, context.scene.azrender.profile or None
        return self.run_in_background(context, Background(self.work(job_id, profile)).start())


class AZRENDER_OT_download(_OnSelectedJob, bpy.types.Operator):
    """Download the selected job's rendered frames"""

    bl_idname = "azrender.download"
    bl_label = "Download Outputs"

    def work(self, job_id, profile):
        from azrender.hosts.jobs import download_outputs

        dest = bpy.path.abspath(f"//renders/{job_id}") if bpy.data.filepath else None  # bpy: on this thread
        return lambda progress: download_outputs(job_id, dest, profile=profile, progress=progress)

    def done_message(self, context, result):
        job = _selected_job(context)
        if job is not None:
            job.download_dir = str(result)
        return "INFO", f"azrender: outputs in {result}"


# ---- live job status and last frame: polled off the main thread, applied on it -----------------

WATCH_SECONDS = 2.0
FINAL_STATES = ("completed", "failed", "terminated", "deleted", "not submitted")
PREVIEW = "azrender last frame"  # the image datablock the panel shows
_watch: dict = {"work": None, "more": True}


def _status_of(job_id: str, backend: str, profile):
    """(status, None, backend, its frame lines) once the job is submitted, else (None, the agent's
    line or the error's, backend, ())."""
    from azrender.hosts.jobs import agent_line, frame_lines, job_status

    waiting = agent_line(job_id)
    if waiting is not None:
        return None, waiting, backend, ()
    if not backend:  # handed over on Automatic: the agent chose, its job record says which
        from azrender import jobrecord

        record = jobrecord.load(job_id)
        backend = record.backend if record else ""
    try:
        status = job_status(job_id, backend=backend or None, profile=profile)
    except AzrenderError as exc:
        return None, error_line(exc), backend, ()
    return status, None, backend, frame_lines(status, profile=profile)


def apply_status(job, found) -> None:
    from azrender.hosts.jobs import first_failure, status_line

    status, line, backend, frames = found
    job.backend = backend or job.backend
    if status is None:
        job.state = line
        return
    job.state = status_line(status)
    job.failure = first_failure(status)
    job.frames = "\n".join(frames)


def show_frame(job_id: str, path: str) -> None:
    """Load ``path`` as the :data:`PREVIEW` image of ``job_id`` (a new datablock for a new frame,
    so its preview icon is made afresh)."""
    import os

    arrived = str(os.stat(path).st_ctime_ns)
    image = bpy.data.images.get(PREVIEW)
    if image is not None:
        if (image.get("azrender_job"), image.filepath, image.get("azrender_arrived")) == (job_id, path, arrived):
            return
        bpy.data.images.remove(image)
    image = bpy.data.images.load(path, check_existing=False)
    image.name = PREVIEW
    image["azrender_job"], image["azrender_arrived"] = job_id, arrived
    image.preview_ensure()


def _unfinished(scene):
    return [job for job in scene.azrender.jobs if not job.state.startswith(FINAL_STATES)]


def _look(pending, profile, selected):
    """The worker's half of a tick: the pending jobs' states, the selected job's last frame, and
    whether the agent still runs (then frames may still arrive)."""
    from azrender.agent import running
    from azrender.hosts.jobs import latest_frame

    states = {job_id: _status_of(job_id, backend, profile) for job_id, backend in pending}
    frame = latest_frame(selected[1]) if selected else None
    return {"states": states, "frame": (selected[0], str(frame)) if frame else None, "more": running()}


def _watch_tick():
    """Every few seconds: apply the last look's answers, then start the next look on a worker (a
    Batch status call is a network round trip, a folder listing can be slow: never on the main
    thread). Stops once every job has ended and the agent has nothing more to bring."""
    scene = bpy.context.scene
    if scene is None:
        return WATCH_SECONDS
    work = _watch["work"]
    if work is not None:
        snapshot = work.poll()
        if not snapshot.finished:
            return WATCH_SECONDS
        _watch["work"] = None
        found = snapshot.result or {"states": {}, "frame": None, "more": False}
        for job in scene.azrender.jobs:
            if job.job_id in found["states"]:
                apply_status(job, found["states"][job.job_id])
        if found["frame"]:
            show_frame(*found["frame"])
        _watch["more"] = found["more"]
        if bpy.context.window_manager is not None:
            _redraw(bpy.context)
    pending = [(job.job_id, job.backend) for job in _unfinished(scene)]
    if not pending and not _watch["more"]:
        return None  # nothing to follow: stop until the next submission or selection
    _watch["more"] = bool(pending)  # one more look after the last job ends (its last frames)
    settings = scene.azrender
    job = settings.jobs[settings.job_index] if 0 <= settings.job_index < len(settings.jobs) else None
    selected = (job.job_id, bpy.path.abspath(job.download_dir)) if job and job.download_dir else None
    profile = settings.profile or None
    _watch["work"] = Background(lambda progress: _look(pending, profile, selected)).start()
    return WATCH_SECONDS


def watch_jobs() -> None:
    """Follow this scene's unfinished jobs live (the job list updates without Refresh) and the
    selected job's last frame."""
    _watch["more"] = True
    if not bpy.app.background and not bpy.app.timers.is_registered(_watch_tick):
        bpy.app.timers.register(_watch_tick, first_interval=WATCH_SECONDS)


@bpy.app.handlers.persistent
def on_load(_=None) -> None:
    """A scene just opened: list its dependencies (no "Dependencies: 0" until Refresh) and follow
    its unfinished jobs. Not in ``blender -b``, where nobody looks at the panel."""
    if bpy.app.background or not bpy.data.filepath or bpy.context.scene is None:
        return
    try:
        fill_dependencies(bpy.context.scene.azrender, submission.scene_report())
    except AzrenderError:
        pass  # the panel's Refresh says why
    watch_jobs()


class AZRENDER_OT_retry(_OnSelectedJob, bpy.types.Operator):
    """Render the selected job's failed or missing frames again, beside its other frames"""

    bl_idname = "azrender.retry"
    bl_label = "Retry Failed Frames"

    def work(self, job_id, profile):
        from azrender.hosts.jobs import retry_failed

        return lambda progress: retry_failed(job_id, profile=profile, progress=progress)

    def done_message(self, context, result):
        return "INFO", f"azrender: {result.describe()}"


CLASSES = (AZRENDER_OT_refresh_dependencies, AZRENDER_OT_submit, AZRENDER_OT_refresh_jobs, AZRENDER_OT_download,
           AZRENDER_OT_retry)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.app.handlers.load_post.append(on_load)


def unregister():
    if on_load in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(on_load)
    if bpy.app.timers.is_registered(_watch_tick):
        bpy.app.timers.unregister(_watch_tick)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
