"""An example studio plugin for azrender (copy it, rename it, keep what you need).

What it does, one hook each:

- ``studioCache`` nodes (the studio's own Maya cache node) are dependencies, headless and in Maya;
- the show's OCIO config (``$OCIO``) travels with every scene, so the farm grades like the artist;
- each project renders on its own pool (``POOLS``);
- every renderer command on the node runs through the studio's licence wrapper
  (``STUDIO_RENDER_WRAPPER``, e.g. ``/studio/bin/with-license``);
- work-in-progress scenes (``*_wip*``) never reach the farm, and huge frame ranges need a second look.
"""

from __future__ import annotations

import os
from pathlib import Path

import azrender

WRAPPER_ENV = "STUDIO_RENDER_WRAPPER"
POOLS = {"gotham": "gotham-gpu", "metropolis": "metro-cpu"}
HUGE_FRAME_COUNT = 2000


@azrender.hookimpl
def azrender_maya_path_attributes():
    return [("studioCache", "cachePath", "cache")]


@azrender.hookimpl
def azrender_add_dependencies(scene, report):
    ocio = os.environ.get("OCIO")
    return [ocio] if ocio else None


def _project_name(submission) -> str:
    # The project folder when the artist set one, else the folder that holds the scene's folder.
    project = submission.request.project or submission.scene.parent.parent
    return Path(project).name.lower()


@azrender.hookimpl
def azrender_choose_pool(submission):
    return POOLS.get(_project_name(submission))


@azrender.hookimpl
def azrender_task_command_line(submission, task, command_line):
    wrapper = os.environ.get(WRAPPER_ENV)
    return f"{wrapper} {command_line}" if wrapper else None


@azrender.hookimpl
def azrender_validate(submission):
    from azrender.jobs.model import Problem

    problems = []
    name = submission.scene.name
    if "_wip" in name.lower():
        problems.append(Problem("error", f"{name} is a work-in-progress file: publish it before rendering on the farm"))
    if len(submission.frames) > HUGE_FRAME_COUNT:
        problems.append(Problem("warning", f"{len(submission.frames)} frames: more than {HUGE_FRAME_COUNT}, on purpose?"))
    return problems
