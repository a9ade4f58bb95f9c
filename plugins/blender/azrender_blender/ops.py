"""Operators: refresh the dependency list, submit (in the background, polled by a modal timer),
refresh job status, download a job's outputs."""

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
        context.window_manager.progress_update(int(snapshot.fraction * 100))
        context.workspace.status_text_set(snapshot.text)
        _redraw(context)
        if not snapshot.finished:
            return {"PASS_THROUGH"}
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        return self.finish(context, snapshot)

    def finish(self, context, snapshot):
        if snapshot.error:
            self.report({"ERROR"}, snapshot.error)
            return {"CANCELLED"}
        self.report({"INFO"}, self.done_message(context, snapshot.result))
        return {"FINISHED"}


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
        return context.window_manager.invoke_props_dialog(self, width=420)

    def draw(self, context):
        from .ui import draw_settings

        draw_settings(self.layout, context.scene.azrender)

    def execute(self, context):
        settings = context.scene.azrender
        try:
            prepared = submission.build_request(settings)
        except MissingAssetsError as exc:
            fill_dependencies(settings, submission.scene_report().dependencies)  # show them in red
            self.report({"ERROR"}, error_line(exc))
            return {"CANCELLED"}
        except AzrenderError as exc:
            self.report({"ERROR"}, error_line(exc))
            return {"CANCELLED"}
        fill_dependencies(settings, prepared.request.report.dependencies)
        self.report({"INFO"}, f"azrender: submitting {bpy.path.basename(bpy.data.filepath)} in the background")
        work = submit_in_background(prepared)
        _submitting[:] = [work]
        return self.run_in_background(context, work)

    def done_message(self, context, result):
        job = context.scene.azrender.jobs.add()
        job.job_id, job.backend, job.state = result.job_id, result.backend, "submitted"
        if result.download_dir:
            job.download_dir = str(result.download_dir)
        return f"azrender: job {result.job_id} submitted to {result.backend} ({result.task_count} task(s))"


def _selected_job(context):
    settings = context.scene.azrender
    return settings.jobs[settings.job_index] if 0 <= settings.job_index < len(settings.jobs) else None


class AZRENDER_OT_refresh_jobs(bpy.types.Operator):
    """Ask the backend for the status of this scene's jobs"""

    bl_idname = "azrender.refresh_jobs"
    bl_label = "Refresh Jobs"

    def execute(self, context):
        from azrender.hosts.jobs import job_status, status_line

        settings = context.scene.azrender
        for job in settings.jobs:
            try:
                job.state = status_line(job_status(job.job_id, backend=job.backend, profile=settings.profile or None))
            except AzrenderError as exc:
                job.state = error_line(exc)
        return {"FINISHED"}


class AZRENDER_OT_download(_Backgrounded, bpy.types.Operator):
    """Download the selected job's rendered frames"""

    bl_idname = "azrender.download"
    bl_label = "Download Outputs"

    @classmethod
    def poll(cls, context):
        return _selected_job(context) is not None

    def execute(self, context):
        from azrender.hosts.jobs import download_outputs

        job_id, profile = _selected_job(context).job_id, context.scene.azrender.profile or None
        dest = bpy.path.abspath(f"//renders/{job_id}") if bpy.data.filepath else None
        return self.run_in_background(context, Background(
            lambda progress: download_outputs(job_id, dest, profile=profile, progress=progress)).start())

    def done_message(self, context, result):
        job = _selected_job(context)
        if job is not None:
            job.download_dir = str(result)
        return f"azrender: outputs in {result}"


CLASSES = (AZRENDER_OT_refresh_dependencies, AZRENDER_OT_submit, AZRENDER_OT_refresh_jobs, AZRENDER_OT_download)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister():
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
