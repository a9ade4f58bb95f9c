"""3ds Max on the node: a pre-render MAXScript retargeting asset paths, and 3dsmaxcmd arguments.

3ds Max renders on Windows only. ``retarget_maxscript(mapped)`` lists every dependency's node
path; run by ``3dsmaxcmd -preRenderScript:<file>``, it asks the Asset Tracking System (ATSOps)
for every path the scene holds and retargets each to its node folder, matched by the exact path
or else the unique file name (a .max often stores a path other than where the file was found).
``max_command_args`` adds the node folders of the textures as ``-bitmapPath`` so Max's own
search finds anything the script did not retarget.
"""

from __future__ import annotations

import re

from azrender.discovery.model import Kind
from azrender.errors import UsageError
from azrender.paths.submission import env_tokens, node_folder

WINDOWS_ONLY = "3ds Max renders on Windows nodes only"
WINDOWS_ONLY_HINT = 'pass --os windows or choose a profile with node_os = "windows" in config.toml'  # a host drops the flag


def retarget_maxscript(mapped) -> str:
    rows = []
    for item in mapped:
        if item.node_path and item.dependency.exists:
            rows.append(f"    #({ms_string(item.local_path)}, {ms_expression(node_folder(item.node_path))})")
    table = ",\n".join(rows)
    return f"""-- azrender: retarget the scene's asset paths to this render node (generated)
(
  local targets = #(
{table}
  )
  fn azFileName p = (filenameFromPath (substituteString p "/" "\\\\"))
  fn azTarget p = (
    local found = undefined
    local byName = #()
    for t in targets while found == undefined do (
      if (stricmp (substituteString t[1] "/" "\\\\") (substituteString p "/" "\\\\")) == 0 then found = t[2]
      else if (stricmp (azFileName t[1]) (azFileName p)) == 0 do append byName t[2]
    )
    if found == undefined and byName.count == 1 do found = byName[1]
    found
  )
  ATSOps.Refresh()
  local files = #()
  ATSOps.GetFiles &files
  local moved = 0
  for f in files do (
    local folder = azTarget f
    if folder != undefined do (
      ATSOps.ClearSelection()
      ATSOps.SelectFiles #(f)
      ATSOps.RetargetSelection folder
      moved += 1
    )
  )
  ATSOps.Refresh()
  format "azrender: retargeted % of % asset path(s)\\n" moved files.count
)
"""


def max_command_args(mapped, *, node_os: str) -> list[str]:
    """``3dsmaxcmd`` arguments adding the textures' node folders as bitmap paths (the retarget
    script itself goes in as a pre-render script: ``-preRenderScript:<its node path>``). Paths keep
    ``%VAR%``: the task runs under ``cmd /c``, which expands them."""
    if node_os != "windows":
        raise UsageError(WINDOWS_ONLY, hint=WINDOWS_ONLY_HINT)
    folders = dict.fromkeys(node_folder(m.node_path) for m in mapped
                            if m.node_path and m.dependency.kind == Kind.TEXTURE)
    return [f"-bitmapPath:{folder}" for folder in folders]


MAXSCRIPT_ENCODING = "utf-8-sig"  # 3ds Max reads a script without a byte-order mark in the system's code page

# MAXScript string literals: a backslash and a double quote are escaped; control characters (which
# no Windows file name holds) are refused rather than written into a script.
_MS_UNQUOTABLE = re.compile(r"[\x00-\x1f\x7f]")


def ms_string(value: str) -> str:
    """``value`` as a MAXScript string literal."""
    if _MS_UNQUOTABLE.search(value):
        raise UsageError(f"cannot write {value!r} into a 3ds Max script: it contains a control character",
                         hint="rename the file or folder")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ms_expression(node_path: str) -> str:
    """A node path as a MAXScript expression: its Batch variables read on the node."""
    parts = [f'(systemTools.getEnvVariable "{value}")' if kind == "env" else ms_string(value)
             for kind, value in env_tokens(node_path)]
    return parts[0] if len(parts) == 1 else "(" + " + ".join(parts) + ")"
