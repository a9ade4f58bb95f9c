"""Maya on the node: ``dirmap`` rules (generated MEL) and a rewritten Maya ASCII copy.

- ``dirmap_python(rules)``: the same as Python, for ``-preRender`` (textures resolved at render
  time) or as a ``userSetup.py``.
- ``dirmap_mel(rules)``: MEL enabling Maya's directory mapping from each artist folder to its node
  folder, with the node's variables read by ``getenv`` at run time. References are resolved when
  the scene opens, so it must run before that: save it as ``userSetup.mel`` in a folder on the
  node's ``MAYA_SCRIPT_PATH`` (it runs in ``Render``/``mayabatch`` too).
- ``plan_ma_copy`` / ``write_ma_copy``: a text rewrite of every path string of a ``.ma`` that names
  a dependency (by its exact path, else by its unique file name, else through the rules) to its
  node path in Maya's form (``$VAR/...``, forward slashes; Maya expands variables in file paths).
  Relative strings stay: Maya resolves them against the project (pass ``-proj`` with the project
  root's node folder) and the store keeps the project layout. Strings starting with the artist's
  own variable (``$TEXTURES/wood.png``) are rewritten by file name, that variable being unset on the node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from azrender.errors import SceneError
from azrender.node import pathtext
from azrender.paths.model import map_local
from azrender.paths.submission import TargetIndex, env_tokens

_MEL_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_ENV_START = re.compile(r"^(\$\{?\w+\}?|%\w+%)[\\/]")


def maya_path(node_path: str) -> str:
    """``%VAR%\\dir`` or ``$VAR/dir`` -> ``$VAR/dir``: the form Maya expands on every OS."""
    return "".join(f"${value}" if kind == "env" else value.replace("\\", "/") for kind, value in env_tokens(node_path))


def dirmap_python(rules) -> str:
    """The same dirmap rules as Python, for ``Render -preRender 'python("exec(open(...).read())")'``
    or as a ``userSetup.py``; variables are expanded by ``os.path.expandvars`` on the node."""
    pairs = ",\n".join(f"    ({_forward(r.source_prefix)!r}, {maya_path(r.destination_prefix)!r})"
                       for r in sorted(rules, key=lambda r: -len(r.source_prefix)))
    return ("# azrender: the artist's folders -> this render node (generated)\n"
            "import os\nimport maya.cmds as cmds\n\n"
            f"RULES = [\n{pairs},\n]\n"
            "cmds.dirmap(enable=True)\n"
            "for source, destination in RULES:\n"
            "    cmds.dirmap(mapDirectory=(source, os.path.expandvars(destination)))\n")


def dirmap_mel(rules) -> str:
    lines = ["// azrender: the artist's folders -> this render node (generated). Runs before the scene opens.",
             "dirmap -en true;"]
    for rule in sorted(rules, key=lambda r: -len(r.source_prefix)):  # deepest first
        source = _mel_quote(_forward(rule.source_prefix))
        lines.append(f"dirmap -m {source} {_mel_expression(rule.destination_prefix)};")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class MaRewrite:
    line: int
    old: str
    new: str


@dataclass(frozen=True)
class MaPlan:
    scene: Path
    rewrites: tuple[MaRewrite, ...]
    text: str  # the rewritten file (small enough: .ma files are text)
    encoding: str


def plan_ma_copy(scene: Path, mapped, rules) -> MaPlan:
    """Rewrite every path string of the Maya ASCII ``scene`` that names a mapped dependency."""
    scene = Path(scene)
    try:
        raw = scene.read_bytes()
    except OSError as exc:
        raise SceneError(f"{scene}: cannot read: {exc.strerror}") from exc
    text = raw.decode("utf-8", "surrogateescape")  # cp1252 bytes survive unchanged
    index = TargetIndex(mapped)
    rewrites: list[MaRewrite] = []

    def replace(match: re.Match) -> str:
        written = _mel_unquote(match.group(1))
        if not re.search(r"[\\/]", written) or "\n" in written or len(written) > 4096:
            return match.group(0)
        if _ENV_START.match(written):  # $PROJ/tex/a.png: the artist's variable is not set on the node
            target = index.lookup(written)
        else:
            try:
                pathtext.split(written)
            except ValueError:
                return match.group(0)  # relative: resolved against the project on the node
            target = index.lookup(written) or (map_local(written, rules) or (None, None))[1]
        if target is None:
            return match.group(0)
        new = maya_path(target)
        rewrites.append(MaRewrite(text.count("\n", 0, match.start()) + 1, written, new))
        return _mel_quote(new)

    new_text = _MEL_STRING.sub(replace, text)
    return MaPlan(scene, tuple(rewrites), new_text, "utf-8")


def write_ma_copy(plan: MaPlan, destination: Path) -> Path:
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_bytes(plan.text.encode(plan.encoding, "surrogateescape"))
    return destination


def _forward(path: str) -> str:
    return path.replace("\\", "/")


def _mel_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mel_unquote(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), value)


def _mel_expression(node_path: str) -> str:
    parts = [f'getenv("{value}")' if kind == "env" else _mel_quote(_forward(value)) for kind, value in env_tokens(node_path)]
    return parts[0] if len(parts) == 1 else "(" + " + ".join(parts) + ")"
