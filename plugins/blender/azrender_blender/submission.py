"""From the open .blend to a :class:`~azrender.pipeline.SubmitRequest`: collect, check, save a copy.

The copy is what renders: the artist can go on editing and saving while the upload runs, and
unsaved changes are included. ``relative_remap`` keeps ``//`` paths pointing at the same files.
"""

from __future__ import annotations

import time
from pathlib import Path

import bpy

from azrender.errors import SceneError
from azrender.hosts.submission import check_complete, collected_report, frame_range
from azrender.pipeline import SubmitRequest

from . import collect

BACKENDS = {"AUTO": None, "LOCAL": "local", "BATCH": "batch"}


def scene_report(search_paths=(), project=None):
    """The dependencies of the open .blend as the core resolves them (what the panel lists)."""
    if not bpy.data.filepath:
        raise SceneError("save the scene first: azrender submits a saved .blend file")
    return collected_report(bpy.data.filepath, collect.raw_references(), search_paths=search_paths, project=project)


def save_submission_copy() -> Path:
    """Save the scene as it is now (unsaved changes included) to ``<cache>/submissions/``."""
    from azrender.dirs import cache_dir

    original = Path(bpy.data.filepath)
    folder = cache_dir() / "submissions" / f"{original.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / original.name
    bpy.ops.wm.save_as_mainfile(filepath=str(copy), copy=True, relative_remap=True, check_existing=False)
    return copy


def build_request(settings=None, **overrides) -> SubmitRequest:
    """Collect, check and copy the open scene; ``settings`` is the panel's property group, and
    ``overrides`` are :class:`SubmitRequest` fields given by a headless caller."""
    fields = {}
    if settings is not None:
        scene = bpy.context.scene
        fields = dict(
            frames=frame_range(scene.frame_start, scene.frame_end, scene.frame_step)
            if settings.use_scene_frames else settings.frames,
            chunk=settings.chunk, backend=BACKENDS[settings.backend], storage_mode=settings.storage_mode.lower(),
            profile=settings.profile or None, allow_missing=settings.allow_missing,
        )
    fields.update(overrides)
    fields.setdefault("frames", frame_range(bpy.context.scene.frame_start, bpy.context.scene.frame_end,
                                            bpy.context.scene.frame_step))
    report = scene_report(fields.get("search_paths", ()), fields.get("project"))
    if not fields.get("allow_missing"):
        check_complete(report)
    fields.setdefault("renderer", bpy.context.scene.render.engine)
    return SubmitRequest(scene=save_submission_copy(), host="blender",
                         extra_dependencies=tuple(report.dependencies), **fields)


def submit(**overrides):
    """Submit the open scene from a script or ``blender -b``; returns the SubmitResult.

    Takes any :class:`SubmitRequest` field (``frames``, ``chunk``, ``backend``, ``wait``,
    ``download_dir``, ``allow_missing``...); progress goes to stderr like the CLI's.
    """
    from azrender import pipeline
    from azrender.progress import ProgressReporter

    request = build_request(**overrides)
    with ProgressReporter() as progress:
        result = pipeline.submit(request, progress=progress)
    print(f"azrender: job {result.job_id} submitted to {result.backend} ({result.task_count} task(s))")
    return result
