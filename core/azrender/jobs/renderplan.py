"""Plan time: the scene's render settings, the artist's overrides and the device become task sets,
task frames and the files every task must write. Pure: the dry run shows exactly this.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from azrender.errors import SceneError, UsageError
from azrender.rendersettings.model import ExpectedOutput, Overrides, RenderSettings, TaskSet, task_sets
from azrender.rendersettings.outputs import expected_outputs, relative_template

OUTPUTS_FILE = "outputs.json"  # node-side list of each task's expected files (read by `verify`)
OVERRIDES = {"frames": "frames to render (as --frames)", "resolution": "resolution percentage, 1-1000",
             "samples": "render samples (Cycles/EEVEE)"}


def parse_device(value) -> str:
    """The Cycles device (``--device``, a panel, the API) as Blender names it; CPU when unset."""
    from azrender.enums import Device

    return Device.parse(value or Device.CPU, "--device").value.upper()


def parse_overrides(items) -> tuple[Overrides, str | None]:
    """``KEY=VALUE`` strings -> (overrides, frames or None); one clear line for a bad one."""
    values, frames = {}, None
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or key not in OVERRIDES:
            raise UsageError(f"--override {item!r}: use KEY=VALUE with KEY one of {', '.join(OVERRIDES)}")
        if key == "frames":
            frames = value.strip()
            continue
        try:
            number = int(value.rstrip("%"))
        except ValueError:
            raise UsageError(f"--override {item!r}: {key} must be a whole number") from None
        if number < 1 or (key == "resolution" and number > 1000):
            raise UsageError(f"--override {item!r}: {OVERRIDES[key]}")
        values["resolution_percentage" if key == "resolution" else key] = number
    return Overrides(**values), frames


def read_settings(scene: Path, host: str) -> RenderSettings | None:
    """The scene's render settings from its file, or None when no headless reader knows the format."""
    if host == "blender":
        from azrender.rendersettings.blend import read_blend_settings

        return read_blend_settings(scene)
    if host == "maya" and scene.suffix.lower() == ".ma":
        from azrender.rendersettings.maya import read_maya_settings

        return read_maya_settings(scene)
    return None


def try_read_settings(scene: Path, host: str) -> tuple[RenderSettings | None, str | None]:
    """(settings, warning): a scene whose settings cannot be read still renders, as before, and says so."""
    try:
        return read_settings(scene, host), None
    except (SceneError, OSError) as exc:
        return None, f"render settings not read ({exc}); rendering with azrender's defaults"


@dataclass(frozen=True)
class PlannedTask:
    id: str
    task_set: TaskSet
    frames: tuple[int, ...]
    outputs: tuple[ExpectedOutput, ...]


@dataclass(frozen=True)
class RenderPlan:
    settings: RenderSettings | None
    overrides: Overrides
    device: str
    tasks: tuple[PlannedTask, ...]

    @property
    def task_sets(self) -> tuple[TaskSet, ...]:
        return tuple(dict.fromkeys(t.task_set for t in self.tasks))

    def outputs_json(self) -> dict | None:
        """``outputs.json`` for the node's ``verify`` (and the job record): each task's files per
        frame, relative to its ``out/`` (a retry's tasks, chunked otherwise, find theirs by task
        set and frame); None when the scene's settings are unknown (nothing to expect)."""
        if self.settings is None:
            return None
        return {"version": 1, "tasks": {t.id: {"set": t.task_set.label, "frames": {
            str(f): [o.path for o in t.outputs if o.frame == f] for f in t.frames}} for t in self.tasks}}

    def to_json(self) -> dict:
        return {"settings": self.settings.to_json() if self.settings else None,
                "overrides": self.overrides.to_json(), "device": self.device,
                "task_sets": [{"layer": s.layer, "camera": s.camera} for s in self.task_sets],
                "expected_outputs": {t.id: [o.path for o in t.outputs] for t in self.tasks}}


def plan_render(settings: RenderSettings | None, frames: list[int], chunk: int, *, overrides: Overrides = Overrides(),
                device: str = "CPU") -> RenderPlan:
    from azrender.jobs.build import task_runs

    tasks = tuple(PlannedTask(tid, task_set, tuple(run), tuple(expected_outputs(settings, task_set, run)))
                  for tid, task_set, run in task_runs(frames, chunk, task_sets(settings)))
    return RenderPlan(settings, overrides, device, tasks)


def blender_arguments(plan: RenderPlan, node_tool: str, *, package: str = "azrender_node") -> list[str]:
    """Blender arguments (before the frame arguments) that apply the plan inside Blender on the node:
    output folders under the task's ``out/``, the device, the overrides (see node/blender_settings.py)."""
    from azrender.node.blender_settings import encode

    s = plan.settings
    values = {"device": plan.device, **plan.overrides.to_json()}
    if s is not None:
        values["output"] = relative_template(s.output_path)
        values["file_outputs"] = {n.name: relative_template(n.paths[0] if n.image_format.multilayer else n.base_path + "/")
                                  for n in s.file_outputs}
        values["single_layer"] = s.single_layer
    expression = ("import os, sys; sys.path.insert(0, os.path.expandvars(%r)); from %s import blender_settings; "
                  "blender_settings.main(%r)" % (node_tool, package, encode(values)))
    return ["--python-expr", expression]
