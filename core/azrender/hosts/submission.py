"""The in-app submission, host-neutral: the raw references a plugin collected through its host API
become one report (resolved by the same resolver as the headless scanners, the dependency hooks
run once), which is checked and handed to the pipeline with the request as the report."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from azrender.discovery.model import SceneReport
from azrender.errors import SceneError
from azrender.pipeline import SubmitRequest, SubmitResult
from azrender.plugins import hookimpl
from azrender.progress import ProgressCallback

MISSING_SHOWN = 5


class _InAppReader:
    """A plugin whose scanner answers for the open scene with what the host collected: discovery
    then resolves it and runs every plugin's dependency hooks, exactly as for ``azrender deps``.
    The host already saw inside libraries and references, so nothing nested is read again."""

    def __init__(self, scene: str, refs: tuple):
        from azrender.discovery.readers import Reading, Scanner

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
    """Raise :class:`MissingAssetsError` naming the missing files in one line (the first few, then a count)."""
    if report.missing:
        from azrender.pipeline import missing_assets_error

        raise missing_assets_error(report, shown=MISSING_SHOWN, one_line=True)


def submission_copy_path(scene: str | os.PathLike) -> Path:
    """Where a host saves the copy of ``scene`` it submits: beside it, as
    ``<stem>.azrender-submit<ext>``. Beside, so relative paths, the asset root (hence the storage
    key: an unchanged scene is not uploaded again) and the folder a studio plugin looks at are those
    of the artist's file. The copy lets the artist go on editing and saving while the upload runs,
    and includes unsaved changes; it is removed once the pipeline is done with it."""
    scene = Path(scene)
    return scene.with_name(f"{scene.stem}.azrender-submit{scene.suffix}")


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


@dataclass(frozen=True)
class Prepared:
    """A host's submission ready to run: the request, and the submission copy made for it."""

    request: SubmitRequest
    copy: Path | None = None

    def hand_over(self):
        """Give the submission to the background agent and return at once
        (:class:`~azrender.agent.Handover`): the upload goes on after the host application is
        closed, finished frames come back as they render; the agent removes the submission copy."""
        from azrender.agent import hand_over

        try:
            return hand_over(self.request, remove_after=self.copy)
        except BaseException:  # refused: nobody else will remove the copy
            if self.copy is not None:
                self.copy.unlink(missing_ok=True)
            raise

    def run(self, progress: ProgressCallback | None = None) -> SubmitResult:
        """Run the pipeline; the submission copy is removed once the pipeline is done with it."""
        from azrender import pipeline

        try:
            return pipeline.submit(self.request, progress=progress)
        finally:
            if self.copy is not None:
                self.copy.unlink(missing_ok=True)


@dataclass(frozen=True)
class Captured:
    """A host's scene as its UI thread captured it: what the host API listed and the copy it
    saved. :meth:`prepare` resolves and checks it, which may run on a worker thread (a UI thread
    must only touch the host; resolving stats every file)."""

    scene: Path
    refs: tuple
    host: str
    copy: Path | None
    fields: dict

    def prepare(self) -> Prepared:
        """Resolve and check (missing files raise unless ``allow_missing``; the copy is removed)."""
        fields = dict(self.fields)
        try:
            report = collected_report(self.scene, self.refs, search_paths=fields.get("search_paths", ()),
                                      project=fields.get("project"))
            if not fields.get("allow_missing"):
                check_complete(report)
        except BaseException:
            if self.copy is not None:
                self.copy.unlink(missing_ok=True)
            raise
        if self.copy is not None:
            fields.setdefault("job_name", self.scene.stem)
        request = SubmitRequest(scene=self.copy or self.scene, host=self.host, report=report, **fields)
        return Prepared(request, self.copy)

    def run(self, progress: ProgressCallback | None = None) -> SubmitResult:
        return self.prepare().run(progress)

    def hand_over(self):
        return self.prepare().hand_over()


def capture_request(scene, refs: Iterable, *, host: str, save_copy: Callable[[Path], None] | None = None,
                    **fields) -> Captured:
    """The host-thread half of a submission: with ``save_copy(path)``, the scene as the host has
    it now is saved to :func:`submission_copy_path` and that copy is submitted (under the scene's
    own job name); without, the saved scene itself. ``fields`` are any other
    :class:`SubmitRequest` fields (frames, chunk, backend...)."""
    scene, copy = Path(scene), None
    if save_copy is not None:
        copy = submission_copy_path(scene)
        try:
            save_copy(copy)
        except (OSError, RuntimeError) as exc:  # RuntimeError: how Blender's operators fail
            raise SceneError(f"cannot save the submission copy {copy}: {exc}",
                             hint="the scene's folder must be writable") from exc
    return Captured(scene, tuple(refs), host, copy, fields)


def prepare_request(scene, refs: Iterable, *, host: str, save_copy: Callable[[Path], None] | None = None,
                    **fields) -> Prepared:
    """:func:`capture_request` then :meth:`Captured.prepare`, in one go (a host's batch mode)."""
    return capture_request(scene, refs, host=host, save_copy=save_copy, **fields).prepare()


def submit_headless(prepared: Prepared):
    """Run the pipeline in the foreground with the CLI's progress display (a host's batch mode:
    ``blender -b``, ``mayapy``, ``3dsmaxbatch``); returns the SubmitResult."""
    from azrender.progress import ProgressReporter

    from azrender.hosts.jobs import outcome_line

    with ProgressReporter() as progress:
        result = prepared.run(progress)
    print(outcome_line(result), file=sys.stderr if result.failed_tasks else sys.stdout)
    return result
