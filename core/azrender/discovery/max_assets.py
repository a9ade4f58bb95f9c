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
from azrender.discovery.resolve import RawReference
from azrender.discovery.scan import Reading, ScanContext, Scanner
from azrender.errors import SceneError

_STREAMS = (("FileAssetMetaData3", 2), ("FileAssetMetaData2", 1))  # stream, paths per record
_KIND_BY_TYPE = {
    "bitmap": Kind.TEXTURE,
    "xref": Kind.REFERENCE,
    "sound": Kind.SOUND,
    "animation": Kind.CACHE,
    "photometric": Kind.OTHER,
}
_LOOKS_LIKE_FILE = re.compile(r"[\\/]|\.[A-Za-z0-9]{1,8}$")


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
    references = []
    for asset_type, (stored, *resolved) in records:
        if not stored or not _LOOKS_LIKE_FILE.search(stored):
            continue  # a material or map name, not a file
        kind = _KIND_BY_TYPE.get(asset_type.lower(), Kind.OTHER)
        alternates = tuple(p for p in resolved if p and p != stored)
        references.append(RawReference(stored, kind, f"{name}:{asset_type}", path, "max", alternates=alternates))
    return Reading(tuple(references))


SCANNER = Scanner(name="3dsmax", extensions=(".max",), scan=read_max)
