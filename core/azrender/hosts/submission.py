"""The in-app submission, host-neutral: the raw references a plugin collected through its host API
become one report (resolved by the same resolver as the headless scanners), which is checked and
handed to the pipeline with the request."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

from azrender.discovery.model import SceneReport
from azrender.errors import MissingAssetsError
from azrender.pipeline import SubmitRequest
from azrender.plugins import hookimpl

MISSING_SHOWN = 5


class _InAppReader:
    """A plugin whose scanner answers for the open scene with what the host collected: discovery
    then resolves it and runs every plugin's dependency hooks, exactly as for ``azrender deps``.
    The host already saw inside libraries and references, so nothing nested is read again."""

    def __init__(self, scene: str, refs: tuple):
        from azrender.discovery.scan import Reading, Scanner

        self.scanner = Scanner(name="in-app", extensions=(os.path.splitext(scene)[1].lower(),),
                               scan=lambda path, context: Reading(refs), follows_nested=True)

    @hookimpl
    def azrender_scanners(self):
        return [self.scanner]


def collected_report(scene: str | os.PathLike, refs: Iterable, *, search_paths=(), project=None) -> SceneReport:
    """The report for ``scene`` from what a host collected
    (:class:`~azrender.discovery.resolve.RawReference` records)."""
    from azrender.discovery.scan import scan_scene
    from azrender.plugins import new_plugin_manager

    scene = os.fspath(scene)
    plugins = new_plugin_manager(plugins=[_InAppReader(scene, tuple(refs))])
    return scan_scene(scene, search_paths=search_paths, project=project, plugin_manager=plugins)


def check_complete(report: SceneReport) -> None:
    """Raise :class:`MissingAssetsError` naming the missing files (the first few, then a count)."""
    missing = report.missing
    if not missing:
        return
    shown = ", ".join(missing[:MISSING_SHOWN])
    more = f" and {len(missing) - MISSING_SHOWN} more" if len(missing) > MISSING_SHOWN else ""
    raise MissingAssetsError(
        f"{Path(report.scene).name}: {len(missing)} missing file(s): {shown}{more}", missing=missing,
        hint="fix the paths in the scene, or submit with 'allow missing' to render without them")


def submission_copy_path(scene: str | os.PathLike) -> Path:
    """Where a host saves the copy of ``scene`` that is submitted (same file name, so job and
    output names stay the artist's): ``<cache>/submissions/<stem>-<time>/<name>``. Only for a host
    that keeps every path valid from another folder when saving a copy (Blender's
    ``relative_remap``); Maya and 3ds Max scenes resolve paths from their own folder and project."""
    import time

    from azrender.dirs import cache_dir

    scene = Path(scene)
    folder = cache_dir() / "submissions" / f"{scene.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / scene.name


def plugins_line() -> str:
    """Which studio plugins are active, for a host panel (a broken one is named, not raised)."""
    from azrender.errors import AzrenderError
    from azrender.plugins import describe_plugins, get_plugin_manager

    try:
        found = [p for p in describe_plugins(get_plugin_manager()) if p.origin != "builtin"]
    except AzrenderError as exc:
        return str(exc).splitlines()[0]
    return "Plugins: " + (", ".join(p.distribution or p.name for p in found) if found else "none")


def frame_range(start: int, end: int, step: int = 1) -> str:
    """A host's frame range in azrender's frame syntax (``1-100``, ``1-100x5``)."""
    text = f"{start}-{end}" if end != start else f"{start}"
    return f"{text}x{step}" if step > 1 and end != start else text


def prepare_request(scene, refs: Iterable, *, host: str, save_copy: Callable[[Path], None] | None = None,
                    **fields) -> SubmitRequest:
    """The request a host plugin submits: ``refs`` (collected through the host API) resolved and
    checked (missing files raise unless ``allow_missing``). With ``save_copy(path)``, the scene as
    the host has it now is written to :func:`submission_copy_path` and that copy is submitted (the
    artist can go on editing and saving while the upload runs); without, the saved scene itself.
    ``fields`` are any other :class:`SubmitRequest` fields (frames, chunk, backend...)."""
    report = collected_report(scene, refs, search_paths=fields.get("search_paths", ()), project=fields.get("project"))
    if not fields.get("allow_missing"):
        check_complete(report)
    submitted = Path(scene)
    if save_copy is not None:
        submitted = submission_copy_path(scene)
        save_copy(submitted)
    return SubmitRequest(scene=submitted, host=host, extra_dependencies=tuple(report.dependencies), **fields)


def submit_headless(request: SubmitRequest):
    """Run the pipeline in the foreground with the CLI's progress display (a host's batch mode:
    ``blender -b``, ``mayapy``, 3ds Max's ``-silent`` scripts); returns the SubmitResult."""
    from azrender import pipeline
    from azrender.progress import ProgressReporter

    with ProgressReporter() as progress:
        result = pipeline.submit(request, progress=progress)
    done = "would be submitted (dry run)" if result.dry_run_requests is not None else "submitted"
    print(f"azrender: job {result.job_id} {done} to {result.backend} ({result.task_count} task(s))")
    return result
