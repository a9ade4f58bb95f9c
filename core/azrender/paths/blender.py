"""The Blender submission copy: the artist's .blend with every path the node needs rewritten.

Headless, with blender-asset-tracer (no Blender needed on the submitting machine): BAT finds every
path field of the top .blend (images incl. sequences and UDIM tiles, libraries, sounds, fonts,
movie clips, caches, volumes, sequencer strips) and writes the new values into a copy. Each path
becomes relative (``//../textures/wood.png``) when the file and the scene share a node folder,
which they do in every storage mode; anything else stays as written for ``node/blender_remap.py``,
which maps it on the node through the rules. Plan first (no writes), then write the copy.

Only the given file is rewritten; ``paths.plan.write_submission_files`` runs this on every linked
library too (Blender cannot change linked data on the node, so a library's own paths must already
be right in the stored file).
"""

from __future__ import annotations

import os

import shutil
from dataclasses import dataclass
from pathlib import Path

from azrender.errors import SceneError, UsageError
from azrender.paths.model import map_local, parse_local_path
from azrender.paths.submission import local_join, node_folder, relative_node_path


@dataclass(frozen=True)
class BlendRewrite:
    """One path field of one block: ``old`` as written, ``new`` for the copy."""

    block: str  # e.g. ``IMwood.png``
    address: int  # the block's address in the file (stable between reading and writing)
    field: bytes
    old: str
    new: str


@dataclass(frozen=True)
class BlendPlan:
    scene: Path
    rewrites: tuple[BlendRewrite, ...]
    left_for_node: tuple[str, ...]  # absolute paths no relative path reaches (node remap maps them)


def plan_blend_copy(scene: Path, rules) -> BlendPlan:
    """Decide every rewrite of the top-level ``scene`` for the node described by ``rules``."""
    trace, blendfile = _bat()
    scene = Path(os.path.abspath(scene))  # as discovery and the rules see it: links kept
    real_scene = scene.resolve()
    found = map_local(str(scene), rules)
    if found is None:
        raise UsageError(f"{scene}: no mapping rule holds the scene itself")
    scene_folder = node_folder(found[1])
    rewrites, left = [], []
    try:
        for usage in trace.deps(scene):
            if Path(usage.block.bfile.filepath).resolve() != real_scene:
                continue  # a path inside a linked library: that file is stored as it is
            dir_only = usage.path_full_field is None
            field = (usage.path_dir_field if dir_only else usage.path_full_field).name.name_only
            written = bytes(usage.asset_path).decode("utf-8", "surrogateescape")
            if dir_only:  # sequencer strips: BAT reports directory + file name, only the directory is written
                written = written.rsplit("/", 1)[0] + "/" if "/" in written else written
            new = _node_relative(written, scene, scene_folder, rules, dir_only)
            if new is None:
                if not written.startswith("//"):
                    left.append(written)
                continue
            if new != written:
                name = bytes(usage.block_name).decode("utf-8", "replace")
                rewrites.append(BlendRewrite(name, usage.block.addr_old, field, written, new))
    except Exception as exc:  # BAT raises its own errors for a corrupt, truncated or too new file
        if isinstance(exc, UsageError):
            raise
        raise SceneError(f"{scene}: cannot read the .blend ({type(exc).__name__}: {exc})") from exc
    finally:
        blendfile.close_all_cached()
    return BlendPlan(scene, tuple(rewrites), tuple(dict.fromkeys(left)))


def write_blend_copy(plan: BlendPlan, destination: Path) -> Path:
    """Write the submission copy with ``plan``'s rewrites to ``destination``."""
    _, blendfile = _bat()
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if not plan.rewrites:
        shutil.copyfile(plan.scene, destination)
        return destination
    bfile = blendfile.open_cached(plan.scene)
    try:
        bfile.copy_and_rebind(destination, mode="rb+")
        for rewrite in plan.rewrites:
            block = bfile.dereference_pointer(rewrite.address)
            try:
                block.set(rewrite.field, rewrite.new.encode("utf-8", "surrogateescape"))
            except Exception as exc:
                raise SceneError(f"{plan.scene}: cannot write {rewrite.new!r} into {rewrite.block}: {exc}") from exc
    finally:
        bfile.close()
        blendfile.close_all_cached()
    return destination


def remap_arguments(node_tool: str, rules_node_path: str, *, package: str = "azrender_node") -> list[str]:
    """Blender arguments (put before ``-f``) running ``node/blender_remap.py`` from the node tool:
    the ``azrender_node.pyz`` zipapp (package ``azrender_node``) or a folder holding ``package``.
    Node variables in both paths are expanded on the node, by Python, whatever shell runs it."""
    expression = ("import os, sys; sys.path.insert(0, os.path.expandvars(%r)); "
                  "from %s import blender_remap; blender_remap.main([%r])" % (node_tool, package, rules_node_path))
    return ["--python-expr", expression]


def _node_relative(written: str, scene: Path, scene_folder: str, rules, dir_only: bool) -> str | None:
    """The ``//...`` path reaching ``written``'s file on the node from the scene's folder, or None."""
    try:
        if written.startswith("//"):
            local = local_join(str(scene.parent), written[2:])
        else:
            local = str(parse_local_path(written))
    except ValueError:
        return None
    found = map_local(local, rules)
    if found is None:
        return None
    relative = relative_node_path(scene_folder, found[1])
    if relative is None:
        return None
    return "//" + relative + ("/" if dir_only and relative else "")


def _bat():
    try:
        from blender_asset_tracer import blendfile, trace
    except ImportError as exc:
        raise UsageError("rewriting a .blend needs blender-asset-tracer",
                         hint="pip install 'azrender[blend]'") from exc
    return trace, blendfile
