"""Channel names of an OpenEXR file, read from its header (single-part and multi-part files), so
tests can see which layers and passes a render really wrote."""

from __future__ import annotations

import struct
from pathlib import Path

MAGIC = b"\x76\x2f\x31\x01"
MULTIPART = 0x1000


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\0", pos)
    return data[pos:end].decode(), end + 1


def _channels(value: bytes) -> list[str]:
    names, pos = [], 0
    while value[pos:pos + 1] not in (b"", b"\0"):
        name, pos = _cstring(value, pos)
        names.append(name)
        pos += 16  # pixel type, pLinear + reserved, x/y sampling
    return names


def exr_channels(path: Path) -> list[str]:
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path} is not an OpenEXR file")
    flags = struct.unpack("<I", data[4:8])[0]
    pos, channels = 8, []
    while True:  # one header per part; a multi-part file ends its headers with an empty one
        name, pos = _cstring(data, pos)
        if not name:
            if not flags & MULTIPART or data[pos:pos + 1] == b"\0":
                return channels
            continue
        kind, pos = _cstring(data, pos)
        size = struct.unpack("<i", data[pos:pos + 4])[0]
        value = data[pos + 4:pos + 4 + size]
        pos += 4 + size
        if kind == "chlist":
            channels += _channels(value)
