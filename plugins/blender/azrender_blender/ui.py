"""The Render-menu entry and the Azure panel in Render properties."""

from __future__ import annotations

import os

import bpy


def draw_settings(layout, settings, scene=None) -> None:
    layout.use_property_split = True
    layout.prop(settings, "profile")
    layout.prop(settings, "backend")
    row = layout.row()
    row.label(text=f"Renders on: {where_it_renders(settings)}", icon="INFO")
    layout.prop(settings, "storage_mode")
    layout.prop(settings, "use_scene_frames")
    row = layout.row()
    if settings.use_scene_frames and scene is not None:  # the range that will render, not a stale field
        from azrender.hosts.submission import frame_range

        row.enabled = False
        row.label(text=f"Frames: {frame_range(scene.frame_start, scene.frame_end, scene.frame_step)}")
    else:
        row.prop(settings, "frames")
    layout.prop(settings, "chunk")
    if scene is None or scene.render.engine == "CYCLES":  # set on the node by the task, not its preferences
        layout.prop(settings, "device")
    layout.prop(settings, "allow_missing")


def where_it_renders(settings) -> str:
    """"This machine" or "Azure Batch (pool NAME)", as Automatic would decide with the profile."""
    if settings.backend == "LOCAL":
        return "This machine"
    from azrender.errors import AzrenderError
    from azrender.settings import load_settings

    try:
        profile = load_settings(settings.profile or None)
    except AzrenderError:
        return "unknown (the profile cannot be read)"
    if settings.backend == "BATCH" or profile.has_batch:
        return f"Azure Batch (pool {profile.pool_id or 'from the profile'})"
    return "This machine (no Azure account configured)"


class AZRENDER_UL_dependencies(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index):
        row = layout.row(align=True)
        row.alert = not item.exists or bool(item.refused)  # missing and refused files in red
        # The file name first: a narrow panel cuts a full path after its first folder.
        icon = "ERROR" if not item.exists else "CANCEL" if item.refused else "FILE"
        row.label(text=bpy.path.basename(item.path) or item.path, icon=icon)
        row.label(text="REFUSED" if item.refused else item.kind)


class AZRENDER_UL_jobs(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index):
        row = layout.row(align=True)
        row.alert = item.state.startswith("failed") or bool(item.failure)
        row.label(text=item.job_id, icon="ERROR" if row.alert else "RENDER_ANIMATION")
        from azrender.backends import LABELS

        where = LABELS.get(item.backend.lower(), item.backend)  # "": the agent has not chosen yet
        row.label(text=f"{where}: {item.state}" if where else item.state)


FRAMES_SHOWN = 12  # frame lines under the selected job; the rest: `azrender status`


class AZRENDER_PT_render(bpy.types.Panel):
    bl_label = "Azure"
    bl_idname = "AZRENDER_PT_render"
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "render"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        settings = context.scene.azrender
        layout = self.layout
        draw_settings(layout.column(), settings, context.scene)

        missing = sum(1 for d in settings.dependencies if not d.exists)
        refused = sum(1 for d in settings.dependencies if d.refused)
        box = layout.box()
        header = box.row()
        header.alert = missing > 0 or refused > 0
        header.label(text=f"Dependencies: {len(settings.dependencies)}" + (f", {missing} missing" if missing else "")
                     + (f", {refused} refused" if refused else ""))
        header.operator("azrender.refresh_dependencies", text="", icon="FILE_REFRESH")
        box.template_list("AZRENDER_UL_dependencies", "", settings, "dependencies", settings, "dependency_index", rows=4)
        if 0 <= settings.dependency_index < len(settings.dependencies):
            chosen = settings.dependencies[settings.dependency_index]
            box.label(text=f"Folder: {os.path.dirname(chosen.path)}")
            box.label(text=f"Used by: {chosen.source}")
            if chosen.refused:
                box.label(text=f"Not sent: {chosen.refused}", icon="CANCEL")

        layout.operator("azrender.submit", icon="RENDER_ANIMATION")

        box = layout.box()
        header = box.row()
        header.label(text="Jobs")
        header.operator("azrender.refresh_jobs", text="", icon="FILE_REFRESH")
        box.template_list("AZRENDER_UL_jobs", "", settings, "jobs", settings, "job_index", rows=3)
        if 0 <= settings.job_index < len(settings.jobs):
            job = settings.jobs[settings.job_index]
            if job.failure:
                draw_wrapped(box, job.failure, context, icon="ERROR", alert=True)
            if job.download_dir:
                row = box.row()
                row.label(text=f"Outputs: {job.download_dir}", icon="FILE_FOLDER")
                row.operator("wm.path_open", text="", icon="FILE_FOLDER").filepath = job.download_dir
            from azrender.hosts.jobs import job_lines

            for line in job_lines(job.job_id):  # scouting/held and why, estimate, cost
                draw_wrapped(box, line, context, alert=line.startswith("held:"))
            frames = job.frames.splitlines()
            for line in frames[:FRAMES_SHOWN]:  # per frame: verified, missing, failed...
                draw_wrapped(box, line, context, alert=line.endswith(": failed") or ": missing" in line
                             or line.startswith("per-frame"))
            if len(frames) > FRAMES_SHOWN:
                box.label(text=f"... {len(frames) - FRAMES_SHOWN} more (azrender status {job.job_id})")
            draw_last_frame(box, job)
        row = box.row()
        row.operator("azrender.download", icon="IMPORT")
        row.operator("azrender.retry", icon="FILE_REFRESH")

        from azrender.hosts.submission import plugins_line

        line = plugins_line()
        row = layout.row()
        row.alert = not line.startswith("Plugins:")
        row.label(text=line, icon="PLUGIN")


def draw_wrapped(layout, text: str, context, icon: str = "NONE", alert: bool = False) -> None:
    """``text`` over as many labels as the panel's width needs: a label cuts what does not fit
    (a missing file's name, a failure's last line)."""
    import textwrap

    region = getattr(context, "region", None)
    chars = max(24, int(region.width / (7 * context.preferences.system.ui_scale))) if region else 80
    column = layout.column(align=True)
    column.alert = alert
    for n, line in enumerate(textwrap.wrap(text, chars, subsequent_indent="  ") or [""]):
        column.label(text=line, icon=icon if n == 0 else ("BLANK1" if icon != "NONE" else "NONE"))


def draw_last_frame(layout, job) -> None:
    """The job's last finished frame, as the agent brought it (see ``ops.show_frame``)."""
    from .ops import PREVIEW, watch_jobs

    image = bpy.data.images.get(PREVIEW)
    if image is None or image.get("azrender_job") != job.job_id:
        if job.download_dir:
            watch_jobs()  # another job was selected: its frame is looked for off this thread
        return
    layout.label(text=f"Last frame: {bpy.path.basename(image.filepath)}", icon="IMAGE_DATA")
    if image.preview is not None:
        layout.template_icon(icon_value=image.preview.icon_id, scale=8.0)


def menu_entry(self, context):
    self.layout.separator()
    self.layout.operator("azrender.submit", icon="RENDER_ANIMATION")


CLASSES = (AZRENDER_UL_dependencies, AZRENDER_UL_jobs, AZRENDER_PT_render)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.TOPBAR_MT_render.append(menu_entry)


def unregister():
    bpy.types.TOPBAR_MT_render.remove(menu_entry)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
