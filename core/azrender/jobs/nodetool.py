"""The node tool: ``azrender/node/*.py`` packed as a zipapp that render nodes run with
``python3 azrender_node.pyz <subcommand>``. It reaches a node as one resource file, stored under a
content-addressed key so submitters with different azrender versions never overwrite each other's.
"""

from __future__ import annotations

import functools
import hashlib
import io
import zipfile
from importlib import resources

from azrender import layout

FILE_NAME = layout.NODE_TOOL  # on the node, in the preparation task's working directory
PACKAGE = "azrender_node"  # the node package's name inside the zipapp
_ENTRY = f"import sys\nfrom {PACKAGE}.__main__ import main\nsys.exit(main())\n"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same sources give the same bytes


@functools.lru_cache(maxsize=1)
def build_node_tool() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("__main__.py", _EPOCH), _ENTRY)
        sources = [f for f in resources.files("azrender.node").iterdir() if f.name.endswith(".py")]
        for source in sorted(sources, key=lambda f: f.name):
            zf.writestr(zipfile.ZipInfo(f"{PACKAGE}/{source.name}", _EPOCH), source.read_bytes())
    return b"#!/usr/bin/env python3\n" + buffer.getvalue()


def node_tool_key(data: bytes | None = None) -> str:
    """The store key of this build of the tool, e.g. ``tools/azrender_node-3f2a....pyz``."""
    data = build_node_tool() if data is None else data
    return layout.join(layout.TOOLS, f"azrender_node-{hashlib.sha256(data).hexdigest()[:16]}.pyz")


def upload_node_tool(store) -> str:
    """Put this build of the tool in ``store`` unless it is there (its key names its content);
    returns the key."""
    data = build_node_tool()
    key = node_tool_key(data)
    if key not in {obj.key for obj in store.list(layout.TOOLS)}:
        store.write_bytes(key, data)
    return key
