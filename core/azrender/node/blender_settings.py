"""Inside Blender on the node: render what the scene says, into the task's output folder.

Only the output *folders* change (the scene's render path and its compositor File Output nodes
point under ``out/`` in the task's working directory, keeping the scene's relative layout and file
names); the Cycles device is set from the job, never from the node's preferences, and a GPU the
node lacks fails the task instead of rendering on the CPU. The job's settings arrive as base64
JSON (safe in bash and cmd.exe alike)::

    blender -b scene.blend --python-expr "...; blender_settings.main('<base64 json>')" -a

Standard library and ``bpy`` only.
"""

from __future__ import annotations

import base64
import json
import os
import sys

VERSION = 2  # 2: file_outputs name each node's folder only
OUTPUT_DIR = "out"
GPU_DEVICES = ("CUDA", "OPTIX", "HIP", "ONEAPI", "METAL")


def encode(settings: dict) -> str:
    return base64.b64encode(json.dumps({"version": VERSION, **settings}).encode()).decode()


def fail(message: str) -> None:
    print(f"azrender: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def set_device(bpy, scene, device: str) -> None:
    """Cycles on ``device``: CPU, or a GPU backend whose devices this node must have."""
    if device == "CPU":
        scene.cycles.device = "CPU"
        return
    prefs = bpy.context.preferences.addons["cycles"].preferences
    try:
        prefs.compute_device_type = device
    except (TypeError, ValueError):
        fail(f"the job asks Cycles to render on {device}, which this Blender cannot use; not rendering on the CPU instead")
    refresh = getattr(prefs, "refresh_devices", None) or prefs.get_devices
    refresh()
    found = [d for d in prefs.devices if d.type == device]
    if not found:
        others = sorted({d.type for d in prefs.devices}) or ["none"]
        fail(f"the job asks Cycles to render on {device}, but this node has no {device} device "
             f"(found: {', '.join(others)}); not rendering on the CPU instead")
    for d in prefs.devices:
        d.use = d.type == device
    scene.cycles.device = "GPU"


def find_node(tree, path: str):
    """The node named ``path`` in ``tree``, or inside its group nodes (``Group/File Output``;
    names may hold ``/`` themselves)."""
    if tree is None:
        return None
    node = tree.nodes.get(path)
    head, sep, rest = path.partition("/")
    while node is None and sep:
        group = tree.nodes.get(head)
        if group is not None and getattr(group, "node_tree", None) is not None:
            node = find_node(group.node_tree, rest)
        more, sep, rest = rest.partition("/")
        head += "/" + more
    return node


def redirect_file_output(node, folder: str) -> None:
    """The node writes into ``folder``, its file names as the scene says."""
    if hasattr(node, "directory"):  # Blender 5: the file name is its own property
        node.directory = folder
    elif node.format.file_format == "OPEN_EXR_MULTILAYER":  # the base path is the file's name
        node.base_path = os.path.join(folder, node.base_path.replace("\\", "/").rsplit("/", 1)[-1])
    else:
        node.base_path = folder


def compositor_tree(scene):
    """The scene's compositor: Blender 5's ``compositing_node_group``; before, its own tree when
    it uses nodes (also read by the add-on's collector)."""
    if hasattr(scene, "compositing_node_group"):
        return scene.compositing_node_group
    return scene.node_tree if scene.use_nodes else None


def apply(bpy, settings: dict, out: str) -> None:
    scene = bpy.context.scene
    if settings.get("output") is not None:
        scene.render.filepath = os.path.join(out, settings["output"])
    tree = compositor_tree(scene)
    for name, folder in (settings.get("file_outputs") or {}).items():
        node = find_node(tree, name)
        if node is not None and node.bl_idname == "CompositorNodeOutputFile":
            redirect_file_output(node, os.path.join(out, folder))
    single = settings.get("single_layer")
    if single is not None:  # the scene's "render single layer", which command-line renders ignore
        for layer in scene.view_layers:
            layer.use = layer.name == single
    if settings.get("resolution_percentage"):
        scene.render.resolution_percentage = int(settings["resolution_percentage"])
    if settings.get("samples"):
        if scene.render.engine == "CYCLES":
            scene.cycles.samples = int(settings["samples"])
        elif hasattr(scene, "eevee"):
            scene.eevee.taa_render_samples = int(settings["samples"])
    if scene.render.engine == "CYCLES":
        set_device(bpy, scene, settings.get("device") or "CPU")
    elif (settings.get("device") or "CPU") != "CPU":
        fail(f"the job asks for the {settings['device']} device, which only Cycles uses (engine {scene.render.engine})")


def main(encoded: str) -> None:
    import bpy

    try:
        settings = json.loads(base64.b64decode(encoded))
    except ValueError as exc:
        fail(f"unreadable render settings: {exc}")
    if settings.get("version") != VERSION:
        fail(f"render settings version {settings.get('version')!r} is not {VERSION}: update the node tool")
    apply(bpy, settings, os.path.abspath(OUTPUT_DIR))
