"""Maya Binary (``.mb``) reader, best effort (the report says so).

A .mb is an IFF tree: ``FOR4``/``FOR8`` groups (32/64-bit sizes), one group per node whose form
type is the node type's four-character id, a ``CREA`` chunk with the node name and ``STR `` chunks
with string attributes (name, NUL, a flag byte, value, NUL). Only node types whose id is known
here are matched against the shared node-type table, and only string attributes; references come
from the header's ``FREF``/``FRDI`` chunks. Plugin node ids and array attributes are not decoded.
"""

from __future__ import annotations

import struct

from azrender.discovery import maya_nodes
from azrender.discovery.model import Kind
from azrender.discovery.readers import Reading, ScanContext, Scanner
from azrender.discovery.resolve import RawReference
from azrender.errors import SceneError

# Node types by their MTypeId, the form type of the node's group (Maya's built-in ids are four
# characters; Arnold's aiImage is 0x00115D17).
_NODE_TYPES = {
    b"RTFT": "file", b"PSDT": "psdFileTex", b"RTMV": "movie", b"DIPL": "imagePlane", b"AUDI": "audio",
    b"CCHF": "cacheFile", b"\x00\x11\x5d\x17": "aiImage",
}
_GROUPS = {b"FOR4", b"FOR8", b"LIS4", b"LIS8", b"CAT4", b"CAT8"}  # 32-bit (before Maya 2014) and 64-bit
_REFERENCE_CHUNKS = {b"FREF", b"FRDI"}
_SCENE_EXTENSIONS = (".ma", ".mb", ".abc", ".fbx", ".obj", ".usd", ".usda", ".usdc")


class _Corrupt(Exception):
    pass


def _chunks(data: bytes, start: int, end: int, wide: bool):
    """Yield (tag, body start, body end) for the chunks between start and end.

    FOR8 chunk headers are tag, 4 unused bytes, 64-bit size, and data chunks are padded to
    8 bytes; FOR4 headers are tag, 32-bit size, padded to 4. Groups are not padded."""
    header = 16 if wide else 8
    pos = start
    while pos + header <= end:
        tag = data[pos:pos + 4]
        size = struct.unpack_from(">Q", data, pos + 8)[0] if wide else struct.unpack_from(">I", data, pos + 4)[0]
        body = pos + header
        if body + size > end:
            raise _Corrupt(f"chunk {tag!r} at byte {pos} runs past its group")
        yield tag, body, body + size
        pos = body + (size if tag in _GROUPS else _align(size, header // 2))


def _align(offset: int, alignment: int) -> int:
    return (offset + alignment - 1) // alignment * alignment


def _strings(payload: bytes) -> list[str]:
    return [part.decode("utf-8", "surrogateescape") for part in payload.split(b"\0") if part]


def parse(data: bytes, path: str, table: maya_nodes.PathTable) -> list[RawReference]:
    if data[:4] not in (b"FOR4", b"FOR8") or data[8 if data[:4] == b"FOR4" else 16:][:4] != b"Maya":
        raise SceneError(f"{path}: not a Maya Binary file (no FOR4/FOR8 Maya header)")
    wide = data[:4] == b"FOR8"
    references: list[RawReference] = []
    groups = [(0, len(data), None)]  # (children start, end, node type) of the groups to walk
    try:
        while groups:
            start, end, node_type = groups.pop()
            name, values, inner = "", {}, []
            for tag, body, body_end in _chunks(data, start, end, wide):
                if tag in _GROUPS:
                    inner.append((body + 4, body_end, _NODE_TYPES.get(data[body:body + 4])))
                elif tag == b"CREA" and node_type:
                    name = data[body + 1:body_end].split(b"\0", 1)[0].decode("utf-8", "replace")
                elif tag == b"STR " and node_type:  # attribute name, NUL, a flag byte, value, NUL
                    attribute, _, rest = data[body:body_end].partition(b"\0")
                    values[attribute.decode("ascii", "replace")] = rest[1:].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
                elif tag in _REFERENCE_CHUNKS:
                    for text in _strings(data[body:body_end]):
                        if text.lower().split("{", 1)[0].endswith(_SCENE_EXTENSIONS):
                            references.append(RawReference(text.split("{", 1)[0], Kind.REFERENCE, tag.decode(), path, "maya"))
            if node_type:
                references.extend(maya_nodes.node_references(table, name, node_type, values.get, path))
            groups.extend(reversed(inner))  # walk in file order
    except (_Corrupt, struct.error) as exc:
        raise SceneError(f"{path}: corrupt Maya Binary file ({exc})") from exc
    return references


def read_maya_binary(path: str, context: ScanContext) -> Reading:
    with open(path, "rb") as handle:
        data = handle.read()
    references = parse(data, path, maya_nodes.path_table(context.plugin_manager))
    note = f"{path}: Maya Binary is read best effort (known node types, string attributes only)"
    return Reading(tuple(references), (note,), best_effort=True)


SCANNER = Scanner(name="maya-binary", extensions=(".mb",), scan=read_maya_binary)
