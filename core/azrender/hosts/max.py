"""3ds Max assets -> raw references, with no 3ds Max import: the in-Max collector reads the
AssetManager through ``pymxs`` and hands each asset's type and paths here."""

from __future__ import annotations

import re

from azrender.discovery.model import Kind
from azrender.discovery.resolve import RawReference

# AssetUser.GetType() -> what the scene uses the file for. Types absent here are not inputs:
# render outputs, Video Post and Batch Render settings.
KINDS = {
    "bitmap": Kind.TEXTURE,
    "xref": Kind.REFERENCE,
    "container": Kind.REFERENCE,
    "externallink": Kind.REFERENCE,
    "animation": Kind.CACHE,
    "sound": Kind.SOUND,
    "photometric": Kind.OTHER,
    "prerenderscript": Kind.OTHER,
    "postrenderscript": Kind.OTHER,
    "maxcreationgraph": Kind.OTHER,
    "other": Kind.OTHER,
}
# 3ds Max also tracks material and map names as "assets"; a file has a folder or an extension.
LOOKS_LIKE_FILE = re.compile(r"[\\/]|\.[A-Za-z0-9]{1,8}$")


def asset_reference(asset_type: str, stored: str, resolved: str, *, scene: str, source: str) -> RawReference | None:
    """The reference for one AssetManager asset, or None when it is not an input file."""
    kind = KINDS.get(asset_type.lstrip("#").lower())
    if kind is None or not stored or not LOOKS_LIKE_FILE.search(stored):
        return None
    alternates = (resolved,) if resolved and resolved != stored else ()
    return RawReference(path=stored, kind=kind, source=source, scene=scene, host="max", alternates=alternates)
