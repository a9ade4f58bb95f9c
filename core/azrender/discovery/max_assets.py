"""3ds Max (``.max``) reader: the asset list 3ds Max keeps in the file's OLE container.

``FileAssetMetaData3`` (Max 2016+) holds records of: a 16-byte asset id, the asset type, the path
as stored, and the path Max resolved it to when saving. ``FileAssetMetaData2`` (older) has no
resolved path. Strings are a little-endian uint32 character count, UTF-16-LE characters, and a
two-byte terminator. Some records name a material rather than a file; those are not dependencies.
"""

from __future__ import annotations

import re
import struct

from azrender.discovery.model import Kind
from azrender.discovery.readers import Reading, ScanContext, Scanner
from azrender.discovery.resolve import RawReference
from azrender.errors import SceneError

_STREAMS = (("FileAssetMetaData3", 2), ("FileAssetMetaData2", 1))  # stream, paths per record
# Asset type (the stream's record type, or AssetUser.GetType() in 3ds Max) -> what the scene uses
# the file for. Render outputs, Video Post and Batch Render settings are outputs, not inputs.
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


def asset_reference(asset_type: str, stored: str, resolved=(), *, scene: str, source: str,
                    unknown: Kind | None = None) -> RawReference | None:
    """The reference for one 3ds Max asset (stored path, then the paths Max resolved it to), or
    None when it is not an input file. ``unknown``: the kind of a type not in :data:`KINDS`
    (None drops it: the in-Max collector knows every type; the file reader keeps them)."""
    kind = KINDS.get(asset_type.lstrip("#").lower(), unknown)
    if kind is None or not stored or not LOOKS_LIKE_FILE.search(stored):
        return None
    resolved = (resolved,) if isinstance(resolved, str) else resolved
    alternates = tuple(dict.fromkeys(p for p in resolved if p and p != stored))
    return RawReference(path=stored, kind=kind, source=source, scene=scene, host="max", alternates=alternates)


class _Corrupt(Exception):
    pass


def _string(data: bytes, pos: int) -> tuple[str, int]:
    if pos + 4 > len(data):
        raise _Corrupt(f"string length cut short at byte {pos}")
    (count,) = struct.unpack_from("<I", data, pos)
    end = pos + 4 + 2 * count
    if end + 2 > len(data):
        raise _Corrupt(f"string of {count} characters at byte {pos} runs past the end")
    try:
        text = data[pos + 4:end].decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise _Corrupt(f"bad UTF-16 text at byte {pos}") from exc
    return text, end + 2


def parse_records(data: bytes, paths_per_record: int) -> list[tuple[str, tuple[str, ...]]]:
    """``[(asset type, (stored path, resolved path?)), ...]``; raises _Corrupt."""
    records, pos = [], 0
    while pos < len(data):
        pos += 16  # asset id (GUID)
        asset_type, pos = _string(data, pos)
        paths = []
        for _ in range(paths_per_record):
            path, pos = _string(data, pos)
            paths.append(path)
        records.append((asset_type, tuple(paths)))
    return records


def read_max(path: str, context: ScanContext | None = None) -> Reading:
    import olefile

    try:
        with open(path, "rb") as handle:
            if not olefile.isOleFile(handle):
                raise SceneError(f"{path}: not a 3ds Max file (no OLE container)")
            handle.seek(0)
            with olefile.OleFileIO(handle) as ole:
                stream = next(((name, n) for name, n in _STREAMS if ole.exists(name)), None)
                if stream is None:
                    return Reading((), (f"{path}: no asset list (FileAssetMetaData) in this .max; "
                                        "saved by a 3ds Max older than 2010?",))
                name, paths_per_record = stream
                records = parse_records(ole.openstream(name).read(), paths_per_record)
    except SceneError:
        raise
    except _Corrupt as exc:
        raise SceneError(f"{path}: corrupt 3ds Max asset list: {exc}") from exc
    except OSError:
        raise
    except Exception as exc:  # olefile raises assorted errors on a damaged container
        raise SceneError(f"{path}: corrupt 3ds Max file ({type(exc).__name__}: {exc})") from exc
    references = (asset_reference(asset_type, stored, resolved, scene=path, source=f"{name}:{asset_type}",
                                  unknown=Kind.OTHER) for asset_type, (stored, *resolved) in records)
    return Reading(tuple(ref for ref in references if ref is not None))


SCANNER = Scanner(name="3dsmax", extensions=(".max",), scan=read_max)
