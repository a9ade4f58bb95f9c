"""Before rendering: fail at once, with one line, when the node's Blender is older than the Blender
that saved the scene (files are not forward compatible: an older Blender crashes or drops data).

``python3 azrender_node.pyz blender-version EXE 4.5 shot.blend`` runs ``EXE --version``. The
version parsing lives here (standard library only) and the submitting side reuses it.
"""

from __future__ import annotations

import re
import subprocess
import sys

_VERSION = re.compile(r"Blender (\d+)\.(\d+)(?:\.(\d+))?")


def parse(text: str) -> tuple[int, ...] | None:
    """``(major, minor[, patch])`` from ``4.5``, ``4.5.15`` or ``Blender 4.5.15 ...``, else None."""
    found = _VERSION.search(text) or re.fullmatch(r"\s*(\d+)\.(\d+)(?:\.(\d+))?\s*", text)
    if not found:
        return None
    return tuple(int(g) for g in found.groups() if g is not None)


def text(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def opens(blender: tuple[int, ...], scene: tuple[int, ...]) -> bool:
    """Whether a Blender of version ``blender`` can open a file saved by ``scene`` (major.minor)."""
    return tuple(blender[:2]) >= tuple(scene[:2])


def refusal(blender: tuple[int, ...], scene: tuple[int, ...], scene_name: str, where: str = "this node's Blender",
            todo: str | None = None) -> str:
    todo = todo or f"render it with Blender {text(scene[:2])} or newer"
    return f"{scene_name} was saved by Blender {text(scene[:2])}; {where} is {text(blender)} and cannot open it ({todo})"


def pool_todo(scene: tuple[int, ...] | None, can_create: bool = True) -> str:
    """What to do when a pool's Blender cannot render a scene (said at plan time and on the node)."""
    wanted = f"Blender {text(scene[:2])} or newer" if scene else "the scene's Blender"
    choose = f"choose a pool of {wanted} (--pool, or pool_id in the profile)"
    if can_create:
        return (f"pin {wanted} with --blender X.Y.Z (or blender = \"X.Y.Z\" in the profile) for azrender to create "
                f"a pool with it, or {choose}")
    return f"{choose}, or add a [profiles.NAME.pool] table so azrender creates one"


def version_of(executable: str, timeout: float = 120) -> tuple[int, ...] | None:
    """The version ``EXECUTABLE --version`` prints (Blender, or azrender's bpy launcher)."""
    proc = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=timeout)
    return parse(proc.stdout) if proc.returncode == 0 else None


def register(parser) -> None:
    parser.add_argument("executable", help="the Blender this task renders with")
    parser.add_argument("scene_version", help="the version that saved the scene, e.g. 4.5")
    parser.add_argument("scene", help="the scene's name, for the message")
    parser.add_argument("--pool", help="the pool this node belongs to, for the message")
    parser.add_argument("--expect", help="the exact Blender version the pool records (X.Y.Z)")


def run(args) -> int:
    scene = parse(args.scene_version)
    try:
        found = version_of(args.executable)
    except OSError as exc:
        print(f"azrender: cannot run Blender {args.executable!r} on this node: {exc}", file=sys.stderr)
        return 3
    if found is None:
        print(f"azrender: {args.executable} --version did not say which Blender it is", file=sys.stderr)
        return 3
    pool = f"pool {args.pool}" if args.pool else "this node's pool"
    expected = parse(args.expect) if args.expect else None
    if expected is not None and found[:len(expected)] != expected:
        print(f"azrender: {pool} records Blender {args.expect}, but this node's Blender is {text(found)}: "
              f"{args.scene} was not rendered with another Blender (delete the pool for azrender to create it "
              f"again, or pin Blender {text(found)})", file=sys.stderr)
        return 3
    if scene is not None and not opens(found, scene):
        where, todo = (f"{pool}'s Blender", pool_todo(scene)) if args.pool else ("this node's Blender", None)
        print("azrender: " + refusal(found, scene, args.scene, where=where, todo=todo), file=sys.stderr)
        return 3
    print(f"azrender: Blender {text(found)} renders {args.scene}")
    return 0
