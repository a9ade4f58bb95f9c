"""Operators: refresh the dependency list, submit (in the background, polled by a modal timer),
refresh job status, download a job's outputs, retry its failed frames."""

from __future__ import annotations

import bpy

from azrender.errors import AzrenderError, MissingAssetsError
from azrender.hosts.background import Background, error_line, submit_in_background

from . import submission

POLL_SECONDS = 0.25
# The submission running in this Blender, if any: one at a time, since it owns the scene's copy.
_submitting: list = []


def fill_dependencies(settings, dependencies) -> None:
    """The panel's list: missing files first, then by kind and path."""
    settings.dependencies.clear()
    for dep in sorted(dependencies, key=lambda d: (d.exists, d.kind.value, d.path)):
        item = settings.dependencies.add()
        item.path, item.kind, item.source, item.exists = dep.path, dep.kind.value, dep.source, dep.exists


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
        fill_dependencies(context.scene.azrender, report.dependencies)
        missing = len(report.missing)
        summary = f"{len(report.dependencies)} file(s)" + (f", {missing} missing" if missing else "")
        self.report({"WARNING"} if missing else {"INFO"}, summary)
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
        if isinstance(snapshot.exception, MissingAssetsError):
            fill_dependencies(context.scene.azrender, submission.scene_report().dependencies)  # shown in red
        if snapshot.error:
            self.report({"ERROR"}, snapshot.error)
            return {"CANCELLED"}
        level, message = self.done_message(context, snapshot.result)
        self.report({level}, message)
        return {"FINISHED"} if level != "ERROR" else {"CANCELLED"}


class AZRENDER_OT_submit(_Backgrounded, bpy.types.Operator):
    """Render this scene on Azure Batch (or on this machine): collect its files, upload what
    changed and submit the job, in the background"""

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
        self.report({"INFO"}, f"azrender: submitting {bpy.path.basename(bpy.data.filepath)} in the background")
        work = submit_in_background(captured)
        _submitting[:] = [work]
        return self.run_in_background(context, work)

    def done_message(self, context, result):
        from azrender.hosts.jobs import first_failure, outcome_line, status_line

        settings = context.scene.azrender
        fill_dependencies(settings, result.report.dependencies)
        job = settings.jobs.add()
        job.job_id, job.backend = result.job_id, result.backend
        job.state = status_line(result.status) if result.status is not None else "submitted"
        job.failure = first_failure(result.status) if result.status is not None else ""
        if result.download_dir:
            job.download_dir = str(result.download_dir)
        settings.job_index = len(settings.jobs) - 1  # the new job is the one Download Outputs takes
        watch_jobs()
        return ("ERROR" if result.failed_tasks else "INFO"), outcome_line(result)


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


# ---- live job status: polled off the main thread, applied on it ---------------------------------

WATCH_SECONDS = 2.0
FINAL_STATES = ("completed", "failed", "terminated", "deleted")
_watch: dict = {"work": None}


def _status_of(job_id: str, backend: str, profile):
    """(status, None) or (None, the error's one line)."""
    from azrender.hosts.jobs import job_status

    try:
        return job_status(job_id, backend=backend, profile=profile), None
    except AzrenderError as exc:
        return None, error_line(exc)


def apply_status(job, found) -> None:
    from azrender.hosts.jobs import first_failure, status_line

    status, error = found
    if status is None:
        job.state = error
        return
    job.state = status_line(status)
    job.failure = first_failure(status)


def _unfinished(scene):
    return [job for job in scene.azrender.jobs if not job.state.startswith(FINAL_STATES)]


def _watch_tick():
    """Every few seconds: apply the last poll's answers, then start the next poll on a worker
    (a Batch status call is a network round trip: never on the main thread)."""
    scene = bpy.context.scene
    if scene is None:
        return WATCH_SECONDS
    work = _watch["work"]
    if work is not None:
        snapshot = work.poll()
        if not snapshot.finished:
            return WATCH_SECONDS
        _watch["work"] = None
        for job in scene.azrender.jobs:
            if snapshot.result and job.job_id in snapshot.result:
                apply_status(job, snapshot.result[job.job_id])
        if bpy.context.window_manager is not None:
            _redraw(bpy.context)
    pending = [(job.job_id, job.backend) for job in _unfinished(scene)]
    if not pending:
        return None  # nothing to follow: stop until the next submission
    profile = scene.azrender.profile or None
    _watch["work"] = Background(lambda progress: {job_id: _status_of(job_id, backend, profile)
                                                  for job_id, backend in pending}).start()
    return WATCH_SECONDS


def watch_jobs() -> None:
    """Follow this scene's unfinished jobs live (the job list updates without Refresh)."""
    if not bpy.app.background and not bpy.app.timers.is_registered(_watch_tick):
        bpy.app.timers.register(_watch_tick, first_interval=WATCH_SECONDS)


@bpy.app.handlers.persistent
def on_load(_=None) -> None:
    """A scene just opened: list its dependencies (no "Dependencies: 0" until Refresh) and follow
    its unfinished jobs. Not in ``blender -b``, where nobody looks at the panel."""
    if bpy.app.background or not bpy.data.filepath or bpy.context.scene is None:
        return
    try:
        fill_dependencies(bpy.context.scene.azrender, submission.scene_report().dependencies)
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
