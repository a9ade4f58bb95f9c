"""Path mapping for one submission, as one record: plan (no writes), then write the node files.

``plan_paths`` decides roots, rules (after the hooks), every dependency's key and node path, the
problems a node OS would have, what to upload and what the node must find before rendering.
``write_submission_files`` then writes the scene copy (Blender .blend, Maya .ma; for Blender also a
rewritten copy of each linked library holding paths to rewrite, stored at the library's own key,
since Blender cannot change linked data on the node) and the files the node reads: ``rules.json``
(node/blender_remap.py), ``needed.json`` (node/check.py) and the host's pre-render script (Maya
``dirmap.py``, 3ds Max ``retarget.ms``).
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from pathlib import Path

from azrender import layout
from azrender.discovery.model import SceneReport
from azrender.errors import UsageError
from azrender.paths.mapping import check_portability, map_dependencies, rules_for
from azrender.paths.model import (AssetRoot, LocalPath, MappedDependency, MappingRule, absolute_local, map_local,
                                  parse_local_path, rules_to_json)
from azrender.paths.roots import asset_roots, storage_key
from azrender.paths.submission import copy_key

HOSTS = {".blend": "blender", ".ma": "maya", ".mb": "maya", ".max": "max"}
REWRITTEN = (".blend", ".ma")  # formats azrender rewrites into a submission copy


@dataclass(frozen=True)
class PathPlan:
    scene: str
    host: str
    storage_mode: str
    node_os: str
    roots: tuple[AssetRoot, ...]
    rules: tuple[MappingRule, ...]
    mapped: tuple[MappedDependency, ...]
    problems: tuple[str, ...]
    scene_key: str
    submitted_key: str  # the copy's key for rewritten formats, else the scene's own
    submitted_node_path: str  # what the renderer opens on the node

    @property
    def uploads(self) -> tuple[tuple[str, str], ...]:
        """``(local path, key)`` of every existing dependency to store (the scene copy is added
        by :func:`write_submission_files`, which makes it)."""
        pairs = [(m.local_path, m.key) for m in self.mapped if m.key and m.dependency.exists]
        if self.submitted_key == self.scene_key:
            pairs.append((self.scene, self.scene_key))
        return tuple(dict.fromkeys(pairs))

    @property
    def needed_on_node(self) -> tuple[str, ...]:
        """Node paths the pre-render check requires: the scene and every dependency that exists
        (uploaded) or that a TD rule says the node already has."""
        paths = [self.submitted_node_path]
        paths += [m.node_path for m in self.mapped if m.node_path and (m.dependency.exists or m.key is None)]
        return tuple(dict.fromkeys(paths))


@dataclass(frozen=True)
class SubmissionFiles:
    """What ``write_submission_files`` made. ``uploads``: the plan's uploads, with linked libraries
    replaced by their rewritten copies, and the scene copy. The node files (rules, check list,
    host script) are the caller's to store where the node's command line will find them."""

    scene_copy: Path | None
    rules_json: Path  # node/blender_remap.py (or a TD's own script) maps paths with it
    needed_json: Path  # node/check.py fails the task when one of these node paths is missing
    host_script: Path | None  # Maya: dirmap.py (Python, for -preRender); 3ds Max: retarget.ms (-preRenderScript)
    uploads: tuple[tuple[str, str], ...]


def plan_paths(report: SceneReport, *, storage_mode: str, node_os: str, submission=None, project: str | None = None,
               mount_path: str = layout.DEFAULT_MOUNT_PATH, store_prefix: str = "", share: str | None = None,
               studio_roots=(), plugin_manager=None, renders_here: bool = False) -> PathPlan:
    """Everything path mapping decides for ``report``'s scene on a ``node_os`` node reached by
    ``storage_mode`` (``submission`` is passed to the ``azrender_mapping_rules`` hook). No writes.
    ``studio_roots`` (:class:`~azrender.paths.studio.StudioRoot`): folders the nodes mount; files
    under them are mapped there and never uploaded. ``renders_here``: the job renders on this
    machine with the renderer it was given (the local backend checked it), whatever its OS."""
    scene = absolute_local(report.scene)
    extension = Path(scene).suffix.lower()
    host = HOSTS.get(extension)
    if host is None:
        raise UsageError(f"{scene}: azrender maps paths for .blend, .ma, .mb and .max scenes, not {extension or 'this file'}")
    if host == "max" and node_os != "windows" and not renders_here:
        from azrender.paths.max import WINDOWS_ONLY, WINDOWS_ONLY_HINT

        raise UsageError(f"{Path(scene).name}: {WINDOWS_ONLY}", hint=WINDOWS_ONLY_HINT)
    where = {"mount_path": mount_path, "store_prefix": store_prefix, "share": share}
    roots = asset_roots(scene, report.dependencies, project=project, plugin_manager=plugin_manager)
    from azrender.paths.studio import studio_rules

    rules = rules_for(submission, roots, storage_mode=storage_mode, node_os=node_os,
                      plugin_manager=plugin_manager, extra=studio_rules(tuple(studio_roots), node_os), **where)
    mapped = map_dependencies(report, roots, storage_mode=storage_mode, node_os=node_os, rules=rules, **where)
    try:
        scene_key = storage_key(scene, roots)
    except ValueError:
        raise UsageError(f"{scene}: no asset root holds the scene (an azrender_asset_roots hook removed it?)") from None
    submitted_key = copy_key(scene_key) if extension in REWRITTEN else scene_key
    local = parse_local_path(scene)  # the scene may be a Windows path while this runs elsewhere
    submitted_local = str(LocalPath(local.flavor, local.anchor, local.parts[:-1] + (posixpath.basename(submitted_key),)))
    found = map_local(submitted_local, rules)
    if found is None:
        raise UsageError(f"{scene}: no mapping rule holds the scene (an azrender_mapping_rules hook removed it?)")
    unplaced = [f"{m.local_path}: no mapping rule places it on the node (a hook removed its rule?)"
                for m in mapped if m.node_path is None and m.dependency.exists]
    return PathPlan(scene, host, storage_mode, node_os, tuple(roots), tuple(rules), tuple(mapped),
                    tuple(unplaced + check_portability(mapped, node_os)), scene_key, submitted_key, found[1])


def write_submission_files(plan: PathPlan, out_dir: Path) -> SubmissionFiles:
    """Write the scene copy and the node-side files into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scene = Path(plan.scene)
    copy = host_script = None
    uploads = plan.uploads
    if scene.suffix.lower() == ".blend":
        from azrender.paths.blender import plan_blend_copy, write_blend_copy

        copy = write_blend_copy(plan_blend_copy(scene, plan.rules), out_dir / Path(plan.submitted_key).name)
        uploads = _with_library_copies(uploads, plan.rules, out_dir / "libraries")
    elif plan.host == "maya":
        from azrender.paths.maya import dirmap_python, plan_ma_copy, write_ma_copy

        if scene.suffix.lower() == ".ma":
            copy = write_ma_copy(plan_ma_copy(scene, plan.mapped, plan.rules), out_dir / Path(plan.submitted_key).name)
        host_script = _write(out_dir / "dirmap.py", dirmap_python(plan.rules))
    else:
        from azrender.paths.max import MAXSCRIPT_ENCODING, retarget_maxscript

        host_script = out_dir / "retarget.ms"
        host_script.write_text(retarget_maxscript(plan.mapped), encoding=MAXSCRIPT_ENCODING)
    rules_json = _write(out_dir / "rules.json", json.dumps(rules_to_json(plan.rules), indent=1))
    needed_json = _write(out_dir / "needed.json", json.dumps(list(plan.needed_on_node), indent=1))
    uploads += ((str(copy), plan.submitted_key),) if copy else ()
    return SubmissionFiles(copy, rules_json, needed_json, host_script, uploads)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _with_library_copies(uploads, rules, out_dir: Path) -> tuple[tuple[str, str], ...]:
    """Uploads with each linked .blend that has paths to rewrite replaced by its rewritten copy."""
    from azrender.paths.blender import plan_blend_copy, write_blend_copy

    result = []
    for local, key in uploads:
        if local.lower().endswith(".blend"):
            library_plan = plan_blend_copy(Path(local), rules)
            if library_plan.rewrites:
                local = str(write_blend_copy(library_plan, out_dir / key))
        result.append((local, key))
    return tuple(result)
