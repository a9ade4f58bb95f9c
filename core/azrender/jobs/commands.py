"""Renderer command lines for one chunk of frames, per host, and how they are wrapped for the
node's shell.

Batch runs a command line without a shell, so azrender wraps it: ``/bin/bash -c '<script>'`` on
Linux, ``cmd /c "<script>"`` on Windows. Node paths may start with Batch variables
(``$AZ_BATCH_NODE_SHARED_DIR/...``, ``%AZ_BATCH_NODE_SHARED_DIR%\\...``), which must expand; every
other character of a path is quoted literally, so spaces, quotes, ``$`` and unicode in artists'
file names reach the renderer unchanged.

Hosts are a registry: ``@host("name")`` on a function ``(RenderChunk) -> list[str]`` (argv).
"""

from __future__ import annotations

import functools
import re
import shlex
from dataclasses import dataclass, field
from typing import Callable

from azrender.errors import UsageError
from azrender.jobs.model import LINUX, WINDOWS

# Only Batch's own variables expand inside a node path; anything else with a '$' or '%' is literal.
_POSIX_VAR = re.compile(r"\$\{?(AZ_BATCH_[A-Z0-9_]+)\}?")
_WINDOWS_VAR = re.compile(r"%(AZ_BATCH_[A-Z0-9_]+)%")
_PLAIN = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")
_DQ_SPECIAL = re.compile(r'[\\"$`]')
# cmd.exe treats these specially even inside double quotes (variables, delayed expansion).
_CMD_HOSTILE = re.compile(r'["%!\r\n]')


@dataclass(frozen=True)
class RenderChunk:
    """What a renderer needs to render frames ``first``..``last`` on a node.

    ``scene`` and ``output_dir`` are node paths (may start with a Batch variable); ``output_dir``
    is where frames go (the task's output file pattern uploads it). ``pre_scripts`` are host
    scripts run inside the renderer before rendering (e.g. Blender's path remap).
    """

    scene: str
    first: int
    last: int
    output_dir: str
    node_os: str = LINUX
    renderer: str | None = None  # Blender engine, Maya renderer, ...
    executable: str | None = None  # default per host and OS
    project: str | None = None  # Maya project folder
    output_name: str | None = "frame"  # None: the scene's own output names (only the folder moves)
    image_format: str | None = None
    output_file: str | None = None  # 3ds Max: the scene's output file relative to output_dir
    layer: str | None = None  # render layer, when the renderer renders each in its own run
    camera: str | None = None
    pre_scripts: tuple[str, ...] = ()
    extra_args: tuple[str, ...] = field(default_factory=tuple)


HostCommand = Callable[[RenderChunk], list[str]]
_HOSTS: dict[str, HostCommand] = {}


def host(name: str) -> Callable[[HostCommand], HostCommand]:
    """Register the command builder for a host (``blender``, ``maya``, ``max``)."""

    def register(fn: HostCommand) -> HostCommand:
        _HOSTS[name] = fn
        return fn

    return register


def hosts() -> tuple[str, ...]:
    return tuple(_HOSTS)


def render_argv(host_name: str, chunk: RenderChunk) -> list[str]:
    try:
        build = _HOSTS[host_name]
    except KeyError:
        raise UsageError(f"unknown host {host_name!r}", hint=f"known hosts: {', '.join(sorted(_HOSTS))}") from None
    return build(chunk)


def node_join(node_os: str, *parts: str) -> str:
    sep = "\\" if node_os == WINDOWS else "/"
    return sep.join(p.rstrip("/\\") for p in parts if p)


# Cycles in builds without OpenImageDenoise (Debian's, for one) fails when denoising is on.
BLENDER_DENOISE_GUARD = ("import bpy, _cycles; s = bpy.context.scene; "
                         "s.cycles.use_denoising = s.cycles.use_denoising and _cycles.with_openimagedenoise")


@host("blender")
def blender_argv(chunk: RenderChunk) -> list[str]:
    exe = chunk.executable or ("blender.exe" if chunk.node_os == WINDOWS else "blender")
    # Order matters: scripts, engine, output and format before -a, which renders immediately.
    argv = [exe, "-b", chunk.scene, "--python-exit-code", "1"]
    for script in chunk.pre_scripts:
        argv += ["--python", script]
    if chunk.renderer:
        argv += ["-E", chunk.renderer]
    if (chunk.renderer or "CYCLES").upper() == "CYCLES":
        argv += ["--python-expr", BLENDER_DENOISE_GUARD]
    if chunk.output_name is not None:  # no scene settings known: azrender's own PNG names
        argv += ["-o", node_join(chunk.node_os, chunk.output_dir, chunk.output_name + "_####")]
        argv += ["-F", chunk.image_format or "PNG", "-x", "1"]
    argv += [*chunk.extra_args, "-s", str(chunk.first), "-e", str(chunk.last), "-a"]
    return argv


# currentRenderer -> Render's -r name
MAYA_RENDERERS = {"mayaSoftware": "sw", "mayaHardware2": "hw2", "mayaHardware": "hw", "mayaVector": "vr",
                  "arnold": "arnold", "renderman": "renderman", "vray": "vray", "redshift": "redshift"}


@host("maya")
def maya_argv(chunk: RenderChunk) -> list[str]:
    exe = chunk.executable or ("Render.exe" if chunk.node_os == WINDOWS else "Render")
    renderer = chunk.renderer or "arnold"
    argv = [exe, "-r", MAYA_RENDERERS.get(renderer, renderer), "-s", str(chunk.first), "-e", str(chunk.last),
            "-rd", chunk.output_dir]
    if chunk.output_name is not None:
        argv += ["-im", chunk.output_name]
    if chunk.layer:
        argv += ["-rl", chunk.layer]
    if chunk.camera:
        argv += ["-cam", chunk.camera]
    if chunk.project:
        argv += ["-proj", chunk.project]
    for script in chunk.pre_scripts:
        argv += ["-preRender", f'python("exec(open(r\'{script}\').read())")']
    return [*argv, *chunk.extra_args, chunk.scene]


@host("max")
def max_argv(chunk: RenderChunk) -> list[str]:
    exe = chunk.executable or "3dsmaxcmdio.exe"
    ext = (chunk.image_format or "png").lower()
    # -nthFrame:1: a chunk is consecutive frames; the scene's Every Nth Frame must not thin it
    if chunk.output_name is None:  # the scene's own file (its relative template rides in extra_args)
        argv = [exe, f"-start:{chunk.first}", f"-end:{chunk.last}", "-nthFrame:1"]
        if chunk.output_file:
            argv.append(f"-outputName:{node_join(chunk.node_os, chunk.output_dir, *chunk.output_file.split('/'))}")
    else:
        output = node_join(chunk.node_os, chunk.output_dir, f"{chunk.output_name}_.{ext}")
        argv = [exe, f"-start:{chunk.first}", f"-end:{chunk.last}", "-nthFrame:1", f"-outputName:{output}"]
    for script in chunk.pre_scripts:
        argv.append(f"-preRenderScript:{script}")
    return [*argv, *chunk.extra_args, chunk.scene]


# ---- quoting for the node's shell --------------------------------------------------------------


@functools.lru_cache(maxsize=4096)  # a job's tasks repeat the same words thousands of times
def _bash_word(arg: str) -> str:
    """One bash word: Batch variables expand, every other character is literal (double quotes,
    with the four characters bash still interprets there escaped)."""
    if arg and _PLAIN.match(arg):
        return arg
    pieces, pos = [], 0
    for match in _POSIX_VAR.finditer(arg):
        pieces.append(_DQ_SPECIAL.sub(r"\\\g<0>", arg[pos:match.start()]))
        pieces.append("${%s}" % match.group(1))
        pos = match.end()
    pieces.append(_DQ_SPECIAL.sub(r"\\\g<0>", arg[pos:]))
    return '"' + "".join(pieces) + '"'


@functools.lru_cache(maxsize=4096)
def _cmd_word(arg: str) -> str:
    """One cmd.exe word. ``"``, ``%`` (other than a Batch variable) and ``!`` cannot be quoted
    reliably for cmd.exe, and ``"`` is illegal in Windows file names anyway: refuse them."""
    if _CMD_HOSTILE.search(_WINDOWS_VAR.sub("", arg)):
        raise UsageError(f"cannot pass {arg!r} to cmd.exe on a Windows node: it contains \", % or !",
                         hint="rename the file or folder")
    if arg and not re.search(r'[\s&|<>()^,;=]', arg):
        return arg
    return f'"{arg}"'


def shell_script(commands: list[list[str] | str], node_os: str) -> str:
    """Join commands into one script that stops at the first failing one. An argv list is quoted
    word by word; a plain string is a shell fragment azrender wrote itself and is kept as is."""
    word = _cmd_word if node_os == WINDOWS else _bash_word
    return " && ".join(c if isinstance(c, str) else " ".join(word(a) for a in c) for c in commands)


def wrap_for_node(script: str, node_os: str) -> str:
    """The Batch command line running ``script`` under the node's shell.

    Linux: a POSIX command line (``shlex.split`` gives ``["/bin/bash", "-c", script]``), with
    ``set -e -o pipefail`` so a failing step fails the task. Windows: ``cmd /c "script"``.
    """
    if node_os == WINDOWS:
        return f'cmd /c "{script}"'
    return "/bin/bash -c " + shlex.quote("set -e -o pipefail; " + script)


def command_line(commands: list[list[str] | str], node_os: str) -> str:
    return wrap_for_node(shell_script(commands, node_os), node_os)
