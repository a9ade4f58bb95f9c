"""Every azrender hook, declared and documented in one place (pluggy, project name ``azrender``).

Host plugins (Blender, Maya, 3ds Max) and a studio's own plugins implement these with
``@azrender.hookimpl``; third-party plugins register through the ``azrender`` entry-point group::

    [project.entry-points.azrender]
    mystudio = "mystudio_azrender"

Hooks are called newest-registered first, so an installed plugin runs before the built-ins and,
for ``firstresult`` hooks, its answer wins. Hooks that receive a list may change it in place.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("azrender")


# ---- discovery ---------------------------------------------------------------------------------


@hookspec
def azrender_scanners():
    """Return scene readers to add to the headless discovery registry.

    Called once per scan when discovery builds its registry. Return an iterable of
    :class:`azrender.discovery.scan.Scanner` objects (each names the file extensions it reads and
    has ``scan(path, context) -> Reading``: the raw paths one file holds, as
    :class:`azrender.discovery.resolve.RawReference`; discovery resolves them). A scanner from a
    plugin replaces the built-in one for the same extension.
    """


@hookspec
def azrender_maya_path_attributes():
    """Return extra rows for the Maya node-type -> path-attribute table.

    Return an iterable of ``(node_type, attribute, kind)`` tuples, e.g.
    ``("myStudioCache", "cachePath", "cache")``; ``kind`` is a :class:`~azrender.discovery.model.Kind`
    value. Used by both the Maya ASCII reader and the in-Maya collector, so a custom node is found
    headless and in-app alike.
    """


@hookspec
def azrender_add_dependencies(scene, report):
    """Return extra dependencies for ``scene`` after its reader has run.

    ``scene`` is the scene file path; ``report`` the :class:`SceneReport` so far (read it, do not
    change it here). Return an iterable of :class:`Dependency` (or plain path strings, which are
    resolved like any other path of the scene), or None.
    """


@hookspec
def azrender_modify_dependencies(scene, dependencies):
    """Change the dependency list of ``scene`` in place (drop, replace, re-kind entries).

    ``dependencies`` is the list of :class:`Dependency` after every add hook. Return value ignored.
    """


# ---- path mapping ------------------------------------------------------------------------------


@hookspec
def azrender_asset_roots(scene, dependencies, roots):
    """Adjust the asset roots used to turn local paths into storage keys, in place.

    ``roots`` is a list of :class:`azrender.paths.model.AssetRoot` derived from the dependencies;
    a TD can add a studio root (``P:\\projects`` -> alias ``projects``) or rename an alias so that
    every artist's files land on the same keys. Return value ignored.
    """


@hookspec
def azrender_mapping_rules(submission, rules):
    """Adjust the list of :class:`azrender.paths.model.MappingRule` for the node, in place.

    Called after the rules for the chosen storage mode and node OS are built, before any scene is
    rewritten. Return value ignored.
    """


# ---- job construction and submission -----------------------------------------------------------


@hookspec
def azrender_validate(submission):
    """Check a submission before anything is uploaded or submitted.

    Return an iterable of :class:`azrender.jobs.model.Problem` (``severity`` ``"error"`` blocks the
    submission with its message, ``"warning"`` is shown and the submission goes on), or None.
    """


@hookspec(firstresult=True)
def azrender_choose_pool(submission):
    """Return the Batch pool id to run ``submission`` on, or None to keep the configured one."""


@hookspec(firstresult=True)
def azrender_task_command_line(submission, task, command_line):
    """Return a replacement command line for one task, or None to keep ``command_line``.

    ``task`` is the :class:`azrender.jobs.model.TaskSpec` (id, first/last frame); ``command_line``
    the renderer command azrender built for the node (a string run by ``/bin/bash -c`` on Linux or
    ``cmd /c`` on Windows). The first non-None answer is used.
    """


@hookspec
def azrender_adjust_job(submission, job):
    """Change the job spec in place just before it is turned into Batch requests.

    ``job`` is the :class:`azrender.jobs.model.JobSpec` (pool, preparation/release tasks, tasks,
    environment). Return value ignored.
    """


@hookspec
def azrender_after_submit(submission, job_id, backend):
    """Called once the job and all its tasks were accepted by ``backend`` (``"batch"``/``"local"``).

    Use it to record the job in a studio tracker. Return value ignored.
    """
