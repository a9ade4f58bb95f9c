"""The Render-menu entry and the Azure panel in Render properties."""

from __future__ import annotations

import bpy


def draw_settings(layout, settings) -> None:
    layout.use_property_split = True
    layout.prop(settings, "profile")
    layout.prop(settings, "backend")
    layout.prop(settings, "storage_mode")
    layout.prop(settings, "use_scene_frames")
    row = layout.row()
    row.enabled = not settings.use_scene_frames
    row.prop(settings, "frames")
    layout.prop(settings, "chunk")
    layout.prop(settings, "allow_missing")


class AZRENDER_UL_dependencies(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index):
        row = layout.row(align=True)
        row.alert = not item.exists  # missing files in red
        row.label(text=item.path, icon="ERROR" if not item.exists else "FILE")
        row.label(text=item.kind)


class AZRENDER_UL_jobs(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index):
        row = layout.row(align=True)
        row.label(text=item.job_id, icon="RENDER_ANIMATION")
        from azrender.backends import LABELS

        row.label(text=f"{LABELS.get(item.backend.lower(), item.backend)}: {item.state}")


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
        draw_settings(layout.column(), settings)

        missing = sum(1 for d in settings.dependencies if not d.exists)
        box = layout.box()
        header = box.row()
        header.alert = missing > 0
        header.label(text=f"Dependencies: {len(settings.dependencies)}" + (f", {missing} missing" if missing else ""))
        header.operator("azrender.refresh_dependencies", text="", icon="FILE_REFRESH")
        box.template_list("AZRENDER_UL_dependencies", "", settings, "dependencies", settings, "dependency_index", rows=4)

        layout.operator("azrender.submit", icon="RENDER_ANIMATION")

        box = layout.box()
        header = box.row()
        header.label(text="Jobs")
        header.operator("azrender.refresh_jobs", text="", icon="FILE_REFRESH")
        box.template_list("AZRENDER_UL_jobs", "", settings, "jobs", settings, "job_index", rows=3)
        if 0 <= settings.job_index < len(settings.jobs):  # scouting/held and why, estimate, cost
            from azrender.hosts.jobs import job_lines

            for line in job_lines(settings.jobs[settings.job_index].job_id):
                row = box.row()
                row.alert = line.startswith("held:")
                row.label(text=line)
        box.operator("azrender.download", icon="IMPORT")

        from azrender.hosts.submission import plugins_line

        line = plugins_line()
        row = layout.row()
        row.alert = not line.startswith("Plugins:")
        row.label(text=line, icon="PLUGIN")


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
