"""3ds Max on the node: the pre-render MAXScript that makes the task's output folders and points
every render element the scene saves into them.

``3dsmaxcmd -outputName:`` moves the main file only; each render element keeps the absolute path
saved in the scene (the artist's disk). 3dsmaxcmd has no per-element switch, so, as Deadline does,
the script run by ``-preRenderScript:`` calls the Render Element Manager
(``maxOps.GetCurRenderElementMgr()``) ``.SetRenderElementFilename <index> <file>`` for each, the
index 0-based (MAXScript Help, "Interface: RenderElementMgr"). It makes the folders first:
3dsmaxcmd does not create a missing output folder (deadline-cloud-for-3ds-max,
``scripts/maxcmd_render.py``). 3ds Max numbers an element's files as it numbers the main one
(``refl.exr`` -> ``refl0010.exr``, ibid.), which :func:`~azrender.rendersettings.outputs.max_numbered`
expects. Only the elements the scene saves are listed (see the plugin's ``render_settings``).
"""

from __future__ import annotations

import re

from azrender.paths.max import MAXSCRIPT_ENCODING, ms_expression, ms_string
from azrender.rendersettings.model import RenderSettings
from azrender.rendersettings.outputs import max_layout


def _comment(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]", " ", text)  # a comment ends at the line's end


def output_maxscript(settings: RenderSettings | None, output_dir: str, node_os: str) -> str:
    """The script's output section: the task's output folders made, every saved element pointed
    there. ``output_dir`` is the task's output folder as a node path (its Batch variable read on
    the node); ``settings`` None: azrender's own file name, no element."""
    main, elements = max_layout(settings) if settings is not None else ("", ())
    sep = "\\" if node_os == "windows" else "/"
    folder = ms_expression(output_dir)

    def under_output(relative: str) -> str:  # the artist's part is a literal: a '$' or '%' in it stays as typed
        return f"({folder} + {ms_string(sep + relative.replace('/', sep))})" if relative else folder

    folders = dict.fromkeys(relative.rpartition("/")[0] for relative in (main, *(r for _, r in elements)))
    lines = [f"  makeDir {under_output(f)} all:true" for f in folders]
    lines += [f"  re.SetRenderElementFilename {element.index} {under_output(relative)}  -- {_comment(element.name)}"
              for element, relative in elements]
    body = "\n".join(lines)
    return f"""-- azrender: this task's output folders, and the render elements' files in them (generated)
(
  local re = maxOps.GetCurRenderElementMgr()
{body}
  format "azrender: % render element file(s) redirected\\n" {len(elements)}
)
"""


def add_output_section(script_path, settings: RenderSettings | None, output_dir: str, node_os: str) -> None:
    """Append the output section to the job's pre-render script (3dsmaxcmd runs one)."""
    text = script_path.read_text(encoding=MAXSCRIPT_ENCODING)
    script_path.write_text(text + "\n" + output_maxscript(settings, output_dir, node_os), encoding=MAXSCRIPT_ENCODING)
