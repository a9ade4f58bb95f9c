"""USD text layers (``.usda``, or ``.usd`` holding text): every ``@asset path@``.

Sublayers, references and payloads are layers themselves and are read in turn by discovery (each
file once, so a layer that references itself ends). A binary crate (``.usdc``, or ``.usd`` in
crate form) cannot be read without USD itself: it is listed, and the report says its own
dependencies are unknown.
"""

from __future__ import annotations

import os
import re

from azrender.discovery.model import Kind
from azrender.discovery.readers import Reading, ScanContext, Scanner
from azrender.discovery.resolve import RawReference
from azrender.errors import SceneError

_LAYER_EXTENSIONS = {".usd", ".usda", ".usdc", ".usdz"}
_KIND_BY_EXTENSION = {".vdb": Kind.VOLUME, ".abc": Kind.CACHE, ".wav": Kind.SOUND, ".mp3": Kind.SOUND}
# Strings and comments are matched too, so an '@' inside them is not taken for an asset path.
_LEXEME = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*'
    r"|@@@(?P<triple>(?:[^@]|@(?!@@))*)@@@|@(?P<single>[^@\n]*)@",
    re.S,
)
_PROPERTY = re.compile(r"([\w:.]+)\s*(?:\.\w+\s*)?=\s*[\[(]?\s*$")


def _kind(path: str) -> Kind:
    extension = os.path.splitext(path)[1].lower()
    if extension in _LAYER_EXTENSIONS:
        return Kind.REFERENCE
    return _KIND_BY_EXTENSION.get(extension, Kind.TEXTURE)


def _source(text: str, start: int, layer: str) -> str:
    line_start = text.rfind("\n", 0, start) + 1
    line = text.count("\n", 0, start) + 1
    prop = _PROPERTY.search(text, line_start, start)
    name = os.path.basename(layer)
    return f"{name}:{line} {prop.group(1)}" if prop else f"{name}:{line}"


def read_usd(path: str, context: ScanContext | None = None) -> Reading:
    with open(path, "rb") as handle:
        raw = handle.read()
    if raw.startswith(b"PXR-USDC") or raw.startswith(b"PK\x03\x04"):
        return Reading((), (f"{path}: binary USD (crate/usdz) cannot be read without USD; "
                            "its own dependencies are unknown",), best_effort=True)
    if not raw.startswith(b"#usda"):
        raise SceneError(f"{path}: not a USD layer (no '#usda' header)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SceneError(f"{path}: corrupt USD text layer (not UTF-8 at byte {exc.start})") from exc
    references = []
    for match in _LEXEME.finditer(text):
        asset = match["triple"] if match["triple"] is not None else match["single"]
        if asset:
            references.append(RawReference(asset, _kind(asset), _source(text, match.start(), path), path, "usd"))
    return Reading(tuple(references))


SCANNER = Scanner(name="usd", extensions=(".usda", ".usd", ".usdc", ".usdz"), scan=read_usd)
