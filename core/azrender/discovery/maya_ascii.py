"""Maya ASCII (``.ma``) reader: a real MEL statement reader, not a line grep.

Honours ``//Codeset:`` (cp1252, UTF-8, cp932, cp936... as Maya writes them), statements spanning
lines, ``//`` and ``/* */`` comments, and MEL string escapes. It reads:

* references: ``file -r`` / ``file -rdi 1`` (the path is the last argument; Maya's ``{N}`` copy
  suffix dropped). Deeper ``-rdi N`` lines repeat what the referenced files hold; discovery reads
  those files itself.
* paths in node attributes, from the node-type + attribute table in
  :mod:`azrender.discovery.maya_nodes` (``createNode`` / ``select -ne`` say which node a
  ``setAttr`` is for), with ``uvTilingMode`` and ``useFrameExtension`` honoured.

Speed: uninteresting statements (``connectAttr``, mesh data...) are skipped inside one regular
expression, so Python only sees ``createNode``/``setAttr``/``select``/``file``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from azrender.discovery import maya_nodes
from azrender.discovery.model import Kind
from azrender.discovery.resolve import RawReference
from azrender.discovery.scan import Reading, ScanContext, Scanner
from azrender.errors import SceneError

_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
# A statement body up to (not including) its ';' or a comment; unrolled, so it never backtracks.
_BODY = re.compile(rf'[^;"/]*(?:(?:{_STRING}|/(?![/*]))[^;"/]*)*')
_KEYWORDS = r"(?:createNode|setAttr|select|file)"
# Whitespace, comments and whole statements that do not start with a keyword we need.
_GAP = re.compile(
    rf'(?:\s+|//[^\n]*|/\*.*?\*/|(?!{_KEYWORDS}[\s;])[^\s;"/][^;"/]*(?:(?:{_STRING}|/(?![/*]))[^;"/]*)*;)*',
    re.S,
)
_KEYWORD = re.compile(rf"({_KEYWORDS})(?=[\s;])")
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_TOKEN = re.compile(rf'{_STRING}|[^\s"]+')
_ESCAPE = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_COPY_SUFFIX = re.compile(r"\{\d+\}$")
_CODESET = re.compile(rb"^//Codeset: *([^\r\n]+)", re.M)
_TRUE = {"yes", "on", "true", "1"}


def _unquote(token: str) -> str | None:
    """The value of a MEL string token, or None when the token is not a string."""
    if len(token) < 2 or token[0] != '"':
        return None
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), token[1:-1])


def _codec(raw: bytes) -> tuple[str, str | None]:
    """The text encoding the header names (``//Codeset: 1252`` -> cp1252), and a warning if unknown."""
    match = _CODESET.search(raw, 0, 4096)
    if not match:
        return "utf-8", None
    name = match.group(1).strip().decode("ascii", "replace")
    candidate = {"65001": "utf-8"}.get(name, f"cp{name}" if name.isdigit() else name)
    try:
        return codecs.lookup(candidate).name, None
    except LookupError:
        return "utf-8", f"unknown //Codeset: {name!r}; read as UTF-8"


def decode(raw: bytes, path: str) -> tuple[str, list[str]]:
    """The file's text and any warnings; raises SceneError for what is not Maya ASCII."""
    if raw[:4] in (b"FOR4", b"FOR8"):
        raise SceneError(f"{path}: this is a Maya Binary file with a .ma extension; rename it to .mb")
    if not raw.startswith(b"//Maya ASCII"):
        raise SceneError(f"{path}: not a Maya ASCII file (no '//Maya ASCII' header)")
    if b"\0" in raw:
        raise SceneError(f"{path}: corrupt Maya ASCII file (binary data inside)")
    codec, warning = _codec(raw)
    warnings = [f"{path}: {warning}"] if warning else []
    try:
        return raw.decode(codec), warnings
    except UnicodeDecodeError as exc:
        # Files saved on one system and edited on another exist; keep going, keep every byte.
        warnings.append(f"{path}: text is not valid {codec} ({exc.reason} at byte {exc.start}); read as UTF-8")
        return raw.decode("utf-8", "surrogateescape"), warnings


@dataclass
class _Node:
    type: str
    name: str
    values: dict[str, list[str]] = field(default_factory=dict)  # attribute as written -> values


def _attribute(token: str) -> str:
    """``".fns[0]"`` -> ``fns``; ``"file1.ftn"`` -> ``ftn`` (node part handled by the caller)."""
    name = token.rsplit(".", 1)[-1]
    return name.split("[", 1)[0]


class _Reader:
    def __init__(self, path: str, table: maya_nodes.PathTable):
        self.path = path
        self.table = table
        self.wanted_types = set(table.node_types) | set(maya_nodes.UV_TILING_MODE) | set(maya_nodes.USE_FRAME_EXTENSION)
        self.nodes: list[_Node] = []
        self.by_name: dict[str, _Node] = {}
        self.current: _Node | None = None
        self.references: list[RawReference] = []

    # ---- statements ----
    def create_node(self, tokens: list[str]) -> None:
        node_type = tokens[1] if len(tokens) > 1 else ""
        name = node_type
        for flag, value in zip(tokens, tokens[1:]):
            if flag in ("-n", "-name"):
                name = _unquote(value) or value
        node = _Node(node_type, name)
        self.current = node if node_type in self.wanted_types else None
        if self.current:
            self.nodes.append(node)
            self.by_name[name] = node
        else:
            self.by_name.pop(name, None)

    def select(self, tokens: list[str]) -> None:
        if "-ne" in tokens or "-noExpand" in tokens:
            name = _unquote(tokens[-1]) or tokens[-1]
            self.current = self.by_name.get(name.lstrip(":"))

    def set_attr(self, statement: str) -> None:
        quote = statement.find('"')
        if quote < 0:
            return
        full_name = statement[quote + 1] != "."
        if self.current is None and not full_name:
            return
        tokens = _TOKEN.findall(statement)
        strings = [(i, _unquote(t)) for i, t in enumerate(tokens) if t[0] == '"']
        index, target = strings[0]
        node = self.current
        if full_name:
            node = self.by_name.get(target.split(".", 1)[0].lstrip(":").split("|")[-1])
            if node is None:
                return
        type_index = tokens.index("-type") + 1 if "-type" in tokens else -1
        values = [value for i, value in strings[1:] if i != type_index]
        if not values and len(tokens) > index + 1:
            values = [tokens[-1]]  # a plain value: setAttr ".uvt" 3;
        node.values[_attribute(target)] = values

    def file(self, tokens: list[str]) -> None:
        depth, reference_node = None, "file -r"
        for flag, value in zip(tokens, tokens[1:]):
            if flag in ("-rdi", "-referenceDepthInfo"):
                depth = value
            elif flag in ("-rfn", "-referenceNode"):
                reference_node = _unquote(value) or value
        if depth is None and not ("-r" in tokens or "-reference" in tokens):
            return
        if depth is not None and depth != "1":
            return
        path = _unquote(tokens[-1])
        if path:
            self.references.append(RawReference(_COPY_SUFFIX.sub("", path), Kind.REFERENCE, reference_node, self.path, "maya"))

    # ---- results ----
    def node_references(self) -> list[RawReference]:
        found = []
        for node in self.nodes:
            tiles = _flag(node, maya_nodes.UV_TILING_MODE)
            sequence = _flag(node, maya_nodes.USE_FRAME_EXTENSION)
            for attribute, values in node.values.items():
                row = self.table.lookup(node.type, attribute)
                if row is None:
                    continue
                for value in values:
                    if node.type == "cacheFile" and attribute in row.names:
                        value = _cache_file(node, value)
                    found.append(RawReference(
                        value, row.kind, f"{node.name}.{attribute}", self.path, "maya",
                        sequence=sequence in _TRUE,
                        tiles=int(tiles) if tiles and tiles.isdigit() and tiles != "0" else None,
                    ))
        return found


def _flag(node: _Node, attributes: dict[str, tuple[str, ...]]) -> str | None:
    for name in attributes.get(node.type, ()):
        if node.values.get(name):
            return node.values[name][-1].lower()
    return None


def _cache_file(node: _Node, folder: str) -> str:
    for name in maya_nodes.CACHE_FILE_NAME:
        if node.values.get(name):
            return f"{folder.rstrip('/')}/{node.values[name][0]}.xml"
    return folder


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def parse(text: str, path: str, table: maya_nodes.PathTable) -> list[RawReference]:
    """The raw references in Maya ASCII ``text`` (already decoded)."""
    reader = _Reader(path, table)
    size, pos = len(text), 0
    while True:
        pos = _GAP.match(text, pos).end()
        if pos >= size:
            break
        start = pos
        keyword = _KEYWORD.match(text, pos)
        parts = []
        while True:
            body = _BODY.match(text, pos)
            parts.append(body.group())
            pos = body.end()
            if pos >= size:
                raise SceneError(f"{path}: truncated file: statement at line {_line(text, start)} has no ';'")
            char = text[pos]
            if char == ";":
                pos += 1
                break
            if char == '"':
                raise SceneError(f"{path}: truncated or corrupt file: unterminated string at line {_line(text, pos)}")
            comment = _COMMENT.match(text, pos)
            if comment is None:
                raise SceneError(f"{path}: unterminated /* comment at line {_line(text, pos)}")
            pos = comment.end()
        if keyword is None:
            continue
        statement = "".join(parts)
        word = keyword.group(1)
        if word == "setAttr":
            reader.set_attr(statement)
        elif word == "createNode":
            reader.create_node(_TOKEN.findall(statement))
        elif word == "select":
            reader.select(_TOKEN.findall(statement))
        else:
            reader.file(_TOKEN.findall(statement))
    return reader.references + reader.node_references()


def read_maya_ascii(path: str, context: ScanContext) -> Reading:
    with open(path, "rb") as handle:
        raw = handle.read()
    text, warnings = decode(raw, path)
    table = maya_nodes.path_table(context.plugin_manager)
    return Reading(tuple(parse(text, path, table)), tuple(warnings))


SCANNER = Scanner(name="maya-ascii", extensions=(".ma",), scan=read_maya_ascii)
