"""From the open .blend to a :class:`~azrender.pipeline.SubmitRequest`: collect, check, save a copy."""

from __future__ import annotations

from pathlib import Path

import bpy

from azrender.errors import SceneError
from azrender.hosts.submission import Prepared, collected_report, frame_range, prepare_request, submit_headless

from . import collect

BACKENDS = {"AUTO": None, "LOCAL": "local", "BATCH": "batch"}


def saved_scene() -> str:
    if not bpy.data.filepath:
        raise SceneError("save the scene first: azrender submits a saved .blend file")
    return bpy.data.filepath


def scene_report(search_paths=(), project=None):
    """The dependencies of the open .blend as the core resolves them (what the panel lists)."""
    return collected_report(saved_scene(), collect.raw_references(), search_paths=search_paths, project=project)


def _save_copy(path: Path) -> None:
    # Unsaved changes included; ``//`` paths remapped so they still reach the same files.
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True, relative_remap=True, check_existing=False)


def build_request(settings=None, **overrides) -> Prepared:
    """Collect, check and copy the open scene; ``settings`` is the panel's property group, and
    ``overrides`` are :class:`SubmitRequest` fields given by a headless caller."""
    scene = bpy.context.scene
    fields = {"frames": frame_range(scene.frame_start, scene.frame_end, scene.frame_step),
              "renderer": scene.render.engine}
    if settings is not None:
        fields.update(chunk=settings.chunk, backend=BACKENDS[settings.backend],
                      storage_mode=None if settings.storage_mode == "PROFILE" else settings.storage_mode.lower(),
                      profile=settings.profile or None,
                      allow_missing=settings.allow_missing)
        if not settings.use_scene_frames:
            fields["frames"] = settings.frames
    fields.update(overrides)
    return prepare_request(saved_scene(), collect.raw_references(), host="blender", save_copy=_save_copy, **fields)


def submit(**fields):
    """Submit the open scene from a script or ``blender -b``; returns the SubmitResult.

    Takes any :class:`SubmitRequest` field (``frames``, ``chunk``, ``backend``, ``wait``,
    ``download_dir``, ``allow_missing``...); progress goes to stderr like the CLI's.
    """
    return submit_headless(build_request(**fields))
