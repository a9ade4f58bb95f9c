"""What an artist does with the built add-on zip, run inside one Blender (Debian's 3.4 binary or a
``bpy`` wheel): ``... blender_addon_user.py -- ZIP [SCENE FRAMES [OUTPUT [DEVICE]]]``.

Installs the zip the way *Install from Disk* does (an extension in 4.2+, a legacy add-on in 3.x),
enables it, finds the Render menu entry, draws the Azure panel, and with a SCENE (saved by this
Blender) submits FRAMES to the local backend through the add-on's operator, after setting the
render output path to OUTPUT in Render Properties (an unsaved change; "" keeps it) and the
panel's Cycles device to DEVICE when given. Prints one
``RESULT {json}`` line.
"""

import json
import sys

import bpy  # before addon_utils (the bpy module needs it first)

import addon_utils

ZIP, *REST = sys.argv[sys.argv.index("--") + 1:]


def install() -> str:
    """The enabled add-on's module name."""
    if bpy.app.version >= (4, 2, 0):
        bpy.ops.extensions.package_install_files(filepath=ZIP, repo="user_default", enable_on_install=True)
        return "bl_ext.user_default.azrender_blender"
    bpy.ops.preferences.addon_install(filepath=ZIP)
    addon_utils.enable("azrender_blender", default_set=True, handle_error=None)
    return "azrender_blender"


class Layout:
    """Records what the panel draws; every property and operator it names must exist."""

    drawn = []

    def __getattr__(self, name):
        return self if name in ("row", "column", "box", "split") else None

    def __call__(self, *args, **kwargs):
        return self

    def prop(self, data, name, **kwargs):
        assert name in data.bl_rna.properties, name
        Layout.drawn.append(name)

    def operator(self, idname, text=None, **kwargs):
        module, name = idname.split(".")
        getattr(getattr(bpy.ops, module), name).get_rna_type()
        Layout.drawn.append(idname)
        return self

    def label(self, text="", **kwargs):
        Layout.drawn.append("label:" + text)

    def template_list(self, list_type, list_id, data, prop, active_data, active_prop, **kwargs):
        assert prop in data.bl_rna.properties and active_prop in active_data.bl_rna.properties
        Layout.drawn.append("list:" + prop)

    def separator(self, *args, **kwargs):
        pass


class Panel:
    layout = Layout()


module_name = install()
module = sys.modules[module_name]
result = {
    "version": list(bpy.app.version),
    "enabled": module_name in bpy.context.preferences.addons,
    "name": addon_utils.module_bl_info(module)["name"],
    "menu": [f.__module__ for f in bpy.types.TOPBAR_MT_render._dyn_ui_initialize()],
    "operator": bpy.ops.azrender.submit.get_rna_type().name,
    "azrender_from": sys.modules["azrender"].__file__ if "azrender" in sys.modules else None,
}
if REST:
    scene, frames, *output = REST
    bpy.ops.wm.open_mainfile(filepath=scene)
    if output and output[0]:
        bpy.context.scene.render.filepath = output[0]
bpy.types.AZRENDER_PT_render.draw(Panel(), bpy.context)
result["panel"] = Layout.drawn
if REST:
    settings = bpy.context.scene.azrender
    settings.backend, settings.use_scene_frames, settings.frames = "LOCAL", False, frames
    if output[1:]:
        settings.device = output[1]
    try:
        result["submit"] = sorted(bpy.ops.azrender.submit())
    except RuntimeError as exc:
        result["submit"] = str(exc)
    result["jobs"] = [[job.job_id, job.backend, job.state] for job in settings.jobs]
print("RESULT " + json.dumps(result))
