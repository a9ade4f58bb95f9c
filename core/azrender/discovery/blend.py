"""Blender ``.blend`` reader, through blender-asset-tracer (BAT; GPL, an optional extra, imported
only when a .blend is read).

BAT walks the datablocks and follows linked libraries itself (only the blocks really linked), so
this reader lists the paths of the whole library tree, each with the file that holds it. BAT only
*logs* what it cannot find (a missing library); here every path is resolved by
:mod:`azrender.discovery.resolve`, so those become missing dependencies, and BAT's other warnings
become report warnings.
"""

from __future__ import annotations

import logging
import os
import pathlib

from azrender.discovery.model import Kind
from azrender.discovery.readers import Reading, ScanContext, Scanner
from azrender.discovery.resolve import RawReference
from azrender.errors import SceneError

# Uncompressed, gzip (Blender < 3) and zstd (Blender >= 3) .blend files.
_MAGIC = (b"BLENDER", b"\x1f\x8b", b"\x28\xb5\x2f\xfd")
_IMAGE_SEQUENCE, _IMAGE_TILED = 2, 6  # Image.source values (DNA_image_types.h)

_KIND_BY_BLOCK = {
    b"IM": Kind.TEXTURE,
    b"LI": Kind.LIBRARY,
    b"CF": Kind.CACHE,
    b"ME": Kind.CACHE,  # external CustomData
    b"OB": Kind.CACHE,  # modifier caches (fluid, ocean, mesh cache, point cache)
    b"SO": Kind.SOUND,
    b"VF": Kind.FONT,
    b"MC": Kind.MOVIE,
    b"VO": Kind.VOLUME,
    b"LA": Kind.OTHER,  # IES profiles
}
_SOUND_EXTENSIONS = {".wav", ".mp3", ".ogg", ".flac", ".aac", ".aif", ".aiff", ".m4a"}
_MOVIE_EXTENSIONS = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".ogv", ".dv", ".flv"}


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _decode(raw: bytes) -> str:
    return bytes(raw).decode("utf-8", "surrogateescape")


def _strip_kind(path: str) -> Kind:
    """Sequencer strips hold images, movies and sounds alike."""
    extension = os.path.splitext(path)[1].lower()
    if extension in _SOUND_EXTENSIONS:
        return Kind.SOUND
    if extension in _MOVIE_EXTENSIONS:
        return Kind.MOVIE
    return Kind.TEXTURE


_CLIP_SEQUENCE = 1  # MovieClip.source: MCLIP_SRC_SEQUENCE (MCLIP_SRC_MOVIE is 2)


def _reference(usage) -> RawReference:
    block = usage.block
    # Modifier and strip paths live in DATA blocks; their usage is named after the owning ID.
    code = bytes(block.code) if len(block.code) == 2 else bytes(usage.block_name[:2])
    path = _decode(usage.asset_path)
    name = _decode(usage.block_name)
    kind = _strip_kind(path) if block.dna_type_name == "Strip" else _KIND_BY_BLOCK.get(code, Kind.OTHER)
    source = f"{name[:2]}:{name[2:]}" if name[:2].encode() == code else name
    tiled = code == b"IM" and usage.is_sequence and block.get(b"source", default=1) == _IMAGE_TILED
    # blender-asset-tracer never marks a movie clip as a sequence; its source field says so.
    clip_sequence = code == b"MC" and block.get(b"source", default=0) == _CLIP_SEQUENCE
    return RawReference(
        path=path,
        kind=kind,
        source=source,
        scene=os.path.abspath(str(block.bfile.filepath)),
        host="blender",
        sequence=(usage.is_sequence and not tiled) or clip_sequence,
        tiles="udim" if tiled else None,
    )


def read_blend(path: str, context: ScanContext | None = None) -> Reading:
    with open(path, "rb") as handle:
        magic = handle.read(7)
    if not magic.startswith(_MAGIC):
        raise SceneError(f"{path}: not a Blender file (no BLENDER header)")
    try:
        from blender_asset_tracer import blendfile, trace
    except ImportError as exc:
        raise SceneError(f"{path}: reading .blend files needs blender-asset-tracer "
                         "(pip install 'azrender[blend]')") from exc

    collector = _Collect()
    bat_log = logging.getLogger("blender_asset_tracer")
    bat_log.addHandler(collector)
    propagate, bat_log.propagate = bat_log.propagate, False  # BAT's warnings go in the report, not stderr
    try:
        references = tuple(_reference(usage) for usage in trace.deps(pathlib.Path(path)))
    except SceneError:
        raise
    except ImportError as exc:  # zstd-compressed files need the zstandard module
        raise SceneError(f"{path}: cannot read this compressed .blend ({exc}); pip install zstandard") from exc
    except Exception as exc:  # BAT raises many types on a corrupt or unsupported file
        raise SceneError(f"{path}: corrupt or unsupported .blend file ({type(exc).__name__}: {exc})") from exc
    finally:
        bat_log.removeHandler(collector)
        bat_log.propagate = propagate
        blendfile.close_all_cached()
    return Reading(references, tuple(f"{path}: {message}" for message in collector.messages))


SCANNER = Scanner(name="blender", extensions=(".blend",), scan=read_blend, follows_nested=True)
