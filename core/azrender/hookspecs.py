"""Every azrender hook, declared and documented in one place (pluggy, project name ``azrender``).

Host plugins (Blender, Maya, 3ds Max) and a studio's own plugins implement these with
``@azrender.hookimpl``; third-party plugins register through the ``azrender`` entry-point group::

    [project.entry-points.azrender]
    mystudio = "mystudio_azrender"

azrender's own scene readers are a plugin too (:mod:`azrender.discovery.builtin`). Hooks are
called newest-registered first, so an installed plugin runs before the built-ins and, for
``firstresult`` hooks, its answer wins. An implementation may take any subset of a hook's
parameters, by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pluggy

if TYPE_CHECKING:  # for the annotations only: this module imports nothing at run time
    from azrender.discovery.model import Dependency, SceneReport
    from azrender.discovery.readers import Scanner
    from azrender.jobs.model import JobSpec, Problem, TaskSpec
    from azrender.paths.model import AssetRoot, MappingRule
    from azrender.pipeline import Submission

hookspec = pluggy.HookspecMarker("azrender")


# ---- discovery ---------------------------------------------------------------------------------


@hookspec
def azrender_scanners() -> Iterable[Scanner] | None:
    """Return scene readers, each for the file extensions it names.

    Called once per scan, when discovery builds its extension -> reader registry. A reader from
    a newer plugin replaces an older one (or a built-in one) for the same extension.

    :return: :class:`~azrender.discovery.readers.Scanner` objects; each has
        ``scan(path, context) -> Reading`` listing the raw paths one file holds
        (:class:`~azrender.discovery.resolve.RawReference`), which discovery resolves.
    """


@hookspec
def azrender_maya_path_attributes() -> Iterable[tuple[str, str, str]] | None:
    """Return extra rows for the Maya node-type -> path-attribute table.

    Used by both the Maya ASCII reader and the in-Maya collector, so a custom node is found
    headless and in-app alike.

    :return: ``(node_type, attribute, kind)`` tuples, e.g. ``("myStudioCache", "cachePath",
        "cache")``; ``kind`` is a :class:`~azrender.discovery.model.Kind` value.
    """


@hookspec
def azrender_add_dependencies(scene: str, report: SceneReport) -> Iterable[Dependency | str] | None:
    """Return extra dependencies of a scene, after its readers have run.

    :param scene: The scene file's absolute path.
    :param report: The :class:`~azrender.discovery.model.SceneReport` so far; read it, do not
        change it here.
    :return: :class:`~azrender.discovery.model.Dependency` records, or plain path strings
        (resolved like any other path of the scene).
    """


@hookspec
def azrender_modify_dependencies(scene: str, dependencies: list[Dependency]) -> None:
    """Change a scene's dependency list in place: drop, replace or re-kind entries.

    :param scene: The scene file's absolute path.
    :param dependencies: Every :class:`~azrender.discovery.model.Dependency` after all add
        hooks; the list this hook leaves is the report's.
    """


# ---- path mapping ------------------------------------------------------------------------------


@hookspec
def azrender_asset_roots(scene: str, dependencies: list[Dependency], roots: list[AssetRoot]) -> None:
    """Adjust, in place, the asset roots that turn local paths into storage keys.

    A TD can add a studio root (``P:\\projects`` -> alias ``projects``) or rename an alias so
    that every artist's files land on the same keys.

    :param scene: The scene file's absolute path.
    :param dependencies: The scene's dependencies (read only).
    :param roots: The :class:`~azrender.paths.model.AssetRoot` list derived from the
        dependencies; change it in place.
    """


@hookspec
def azrender_mapping_rules(submission: Submission, rules: list[MappingRule]) -> None:
    """Adjust, in place, the rules that map local paths to node paths.

    Called once the rules for the storage mode and node OS are built, before any scene is
    rewritten. A rule appended for an existing prefix overrides it; a rule without an alias
    (``MappingRule("P:\\software", "/opt/studio", "linux", alias=None)``) says the node already
    has those files, so nothing under it is uploaded.

    :param submission: The :class:`~azrender.pipeline.Submission` being mapped. From
        ``azrender paths`` it has no job yet: no job id, frames, backend or settings.
    :param rules: The :class:`~azrender.paths.model.MappingRule` list; change it in place.
    """


# ---- job construction and submission -----------------------------------------------------------


@hookspec
def azrender_validate(submission: Submission) -> Iterable[Problem] | None:
    """Check a submission before anything is uploaded or submitted.

    :param submission: The :class:`~azrender.pipeline.Submission`: request, scene, host, job
        id, frames, backend, storage mode, node OS, report and settings.
    :return: :class:`~azrender.jobs.model.Problem` records: ``"error"`` blocks the submission
        with its message, ``"warning"`` is shown and the submission goes on.
    """


@hookspec(firstresult=True)
def azrender_choose_pool(submission: Submission) -> str | None:
    """Choose the Batch pool a submission runs on (Batch backend only).

    :param submission: The :class:`~azrender.pipeline.Submission`.
    :return: A pool id, or None to keep the configured one. The first answer wins.
    """


@hookspec(firstresult=True)
def azrender_task_command_line(submission: Submission, task: TaskSpec, command_line: str) -> str | None:
    """Replace the command line of one render task (of a submission, and of ``azrender retry``'s
    follow-up job: then ``submission.retry_of`` names the original job).

    :param submission: The :class:`~azrender.pipeline.Submission`.
    :param task: The :class:`~azrender.jobs.model.TaskSpec` (id, first and last frame).
    :param command_line: The renderer command azrender built, run by ``/bin/bash -c`` on Linux
        or ``cmd /c`` on Windows nodes.
    :return: The command line to run instead, or None to keep it. The first answer wins.
    """


@hookspec
def azrender_adjust_job(submission: Submission, job: JobSpec) -> None:
    """Change the job spec in place, just before it becomes Batch requests (a submission's, or a
    retry's: ``submission.retry_of`` set).

    :param submission: The :class:`~azrender.pipeline.Submission`.
    :param job: The :class:`~azrender.jobs.model.JobSpec` (pool, preparation and release
        tasks, tasks, environment); replace its parts with ``dataclasses.replace``.
    """


@hookspec
def azrender_after_submit(submission: Submission, job_id: str, backend: str) -> None:
    """Called once a job and all its tasks were accepted, e.g. to record it in a tracker.

    :param submission: The :class:`~azrender.pipeline.Submission`.
    :param job_id: The job's id on the backend.
    :param backend: ``"local"`` or ``"batch"``.
    """
