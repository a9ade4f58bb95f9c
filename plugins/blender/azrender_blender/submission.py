"""From the open .blend to a :class:`~azrender.pipeline.SubmitRequest`: collect, check, save a copy."""

from __future__ import annotations

import sys
from pathlib import Path

import bpy

from azrender.errors import SceneError
from azrender.hosts.submission import Captured, Prepared, capture_request, collected_report, frame_range, submit_headless

from . import collect, render_settings

BACKENDS = {"AUTO": None, "LOCAL": "local", "BATCH": "batch"}


def saved_scene() -> str:
    if not bpy.data.filepath:
        raise SceneError("save the scene first: azrender submits a saved .blend file")
    return bpy.data.filepath


def scene_report(search_paths=(), project=None):
    """The dependencies of the open .blend as the core resolves them (what the panel lists)."""
    return collected_report(saved_scene(), collect.raw_references(), search_paths=search_paths, project=project)


def _save_copy(path: Path) -> None:
    # Unsaved changes included; ``//`` paths remapped so they still reach the same files. No
    # preview thumbnail: drawing it is most of the save in the GUI (seconds with software OpenGL),
    # all of it on the main thread, and a render node never looks at it.
    prefs = bpy.context.preferences
    preview, dirty = prefs.filepaths.file_preview_type, prefs.is_dirty
    prefs.filepaths.file_preview_type = "NONE"
    try:
        bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True, relative_remap=True, check_existing=False)
    finally:
        prefs.filepaths.file_preview_type = preview
        prefs.is_dirty = dirty  # the user's preferences are as they were: nothing to save on quit


def this_blender() -> dict:
    """The Blender that saves the submission copy (the nodes' must open it) and, for the local
    backend, renders it: this executable, or for the bpy module (no executable) its Python."""
    return {"scene_version": ".".join(map(str, bpy.app.version)),
            "submitting_blender": bpy.app.binary_path or sys.executable}


def capture(settings=None, **overrides) -> Captured:
    """What must run on Blender's main thread: collect the open scene's files and save its copy
    (resolving and checking them runs on the worker: :meth:`Captured.prepare`). ``settings`` is
    the panel's property group, ``overrides`` :class:`SubmitRequest` fields of a headless caller."""
    scene = bpy.context.scene
    fields = {"frames": frame_range(scene.frame_start, scene.frame_end, scene.frame_step),
              "renderer": scene.render.engine, "render_settings": render_settings.collect(scene), **this_blender()}
    if settings is not None:
        fields.update(chunk=settings.chunk, backend=BACKENDS[settings.backend], device=settings.device,
                      storage_mode=None if settings.storage_mode == "PROFILE" else settings.storage_mode.lower(),
                      profile=settings.profile or None,
                      allow_missing=settings.allow_missing)
        if not settings.use_scene_frames:
            fields["frames"] = settings.frames
    fields.update(overrides)
    return capture_request(saved_scene(), collect.raw_references(), host="blender", save_copy=_save_copy, **fields)


def build_request(settings=None, **overrides) -> Prepared:
    """Collect, copy and check the open scene in one go (headless use)."""
    return capture(settings, **overrides).prepare()


def submit(**fields):
    """Submit the open scene from a script or ``blender -b``; returns the SubmitResult.

    Takes any :class:`SubmitRequest` field (``frames``, ``chunk``, ``backend``, ``wait``,
    ``download_dir``, ``allow_missing``...); progress goes to stderr like the CLI's.
    """
    return submit_headless(build_request(**fields))
