"""Inside Blender on the node: point every absolute path the scene still holds at the node.

The submission copy already holds relative paths where azrender could write them; this script
maps whatever is left absolute (a path the copy could not rewrite, a TD's rule to files the node
has) through the mapping rules, before the first frame renders::

    blender -b scene.blend --python blender_remap.py -E CYCLES -f 1 -- rules.json

(``-f`` must come before ``--``: what follows ``--`` is for this script; without it the rules file
is taken from ``$AZRENDER_PATH_RULES``, for command lines that end with ``-a``.) Standard library and
``bpy`` only. Linked (library) data cannot be edited here; its paths must already be relative.
"""

from __future__ import annotations

import json
import os
import sys

if __package__:
    from .pathtext import RULES_VERSION, compile_rules, expand, map_path
else:  # run as a file by `blender --python blender_remap.py`: import the sibling module by path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from pathtext import RULES_VERSION, compile_rules, expand, map_path

# ID collections with a ``filepath`` (libraries are remapped first, on their own: reloading one
# replaces the linked data, so the other paths are listed only after that).
COLLECTIONS = ("images", "sounds", "fonts", "movieclips", "cache_files", "volumes")
NOT_A_FILE = ("", "<builtin>")
RULES_VARIABLE = "AZRENDER_PATH_RULES"


def load_rules(path: str) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"azrender remap: cannot read the rules {path}: {exc}") from None
    version = document.get("version") if isinstance(document, dict) else None
    if version != RULES_VERSION:
        raise SystemExit(f"azrender remap: {path}: not an azrender rules file of version {RULES_VERSION} (found {version!r})")
    return document["rules"]


def path_slots(bpy):
    """Yield ``(owner, attribute, label)`` for every file path the open scene holds, libraries aside."""
    for collection in COLLECTIONS:
        for block in getattr(bpy.data, collection):
            if getattr(block, "packed_file", None) is not None:
                continue  # packed into the .blend: nothing to find on disk
            yield block, "filepath", f"{collection}:{block.name}"
    for scene in bpy.data.scenes:
        if scene.sequence_editor is None:
            continue
        editor = scene.sequence_editor
        for strip in editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all:  # renamed in 4.4
            for attribute in ("directory", "filepath"):
                if hasattr(strip, attribute):
                    yield strip, attribute, f"strip:{scene.name}/{strip.name}"
    for obj in bpy.data.objects:
        for modifier in obj.modifiers:  # Ocean and Mesh Cache read files; a fluid domain its bakes
            label = f"modifier:{obj.name}/{modifier.name}"
            if hasattr(modifier, "filepath"):
                yield modifier, "filepath", label
            settings = getattr(modifier, "domain_settings", None)
            if settings is not None:
                yield settings, "cache_directory", label
            point_cache = getattr(modifier, "point_cache", None)
            if point_cache is not None and point_cache.use_external:
                yield point_cache, "filepath", label
    trees = [m.node_tree for m in bpy.data.materials if m.node_tree]
    trees += [w.node_tree for w in bpy.data.worlds if w.node_tree]
    trees += [light.node_tree for light in bpy.data.lights if light.node_tree] + list(bpy.data.node_groups)
    for tree in trees:
        for node in tree.nodes:  # IES lights and OSL scripts read from disk in "external" mode
            if node.bl_idname in ("ShaderNodeTexIES", "ShaderNodeScript") and node.mode == "EXTERNAL":
                yield node, "filepath", f"node:{tree.name}/{node.name}"


def remap(bpy, rules) -> tuple[list[str], list[str]]:
    """Map every absolute path; return (changed, unmapped) descriptions."""
    rules = compile_rules(rules)
    changed, unmapped = [], []
    libraries = [(library, "filepath", f"libraries:{library.name}") for library in bpy.data.libraries]
    _remap_slots(libraries, rules, changed, unmapped)
    _remap_slots(list(path_slots(bpy)), rules, changed, unmapped)
    return changed, unmapped


def _remap_slots(slots, rules, changed: list, unmapped: list) -> None:
    for owner, attribute, label in slots:
        value = getattr(owner, attribute)
        if value in NOT_A_FILE or value.startswith("//"):
            continue  # relative: already inside the mirrored store layout
        mapped = map_path(value, rules)
        if mapped is None:
            unmapped.append(f"{label}: {value}")
            continue
        if getattr(owner, "library", None) is not None:
            unmapped.append(f"{label}: {value} (linked from a library, not editable)")
            continue
        setattr(owner, attribute, expand(mapped))
        changed.append(f"{label}: {value} -> {getattr(owner, attribute)}")
        if owner.__class__.__name__ == "Library":
            owner.reload()


def main(argv=None) -> int:
    """``argv``: [rules.json] (``$VAR``/``%VAR%`` expanded here); default: what follows ``--``,
    else ``$AZRENDER_PATH_RULES``."""
    import bpy

    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
        argv = argv or ([os.environ[RULES_VARIABLE]] if os.environ.get(RULES_VARIABLE) else [])
    if len(argv) != 1:
        raise SystemExit("azrender remap: usage: blender -b SCENE --python blender_remap.py ... -- RULES.json"
                         f" (or set {RULES_VARIABLE})")
    changed, unmapped = remap(bpy, load_rules(expand(argv[0])))
    print(f"azrender remap: {len(changed)} path(s) remapped")
    for line in changed:
        print(f"  {line}")
    for line in unmapped:
        print(f"azrender remap: warning: no rule for {line}")
    return 0


if __name__ == "__main__":
    main()
