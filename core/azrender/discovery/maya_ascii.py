"""Maya ASCII (``.ma``) reader: a real MEL statement reader, not a line grep.

Honours ``//Codeset:`` (cp1252, UTF-8, cp932, cp936... as Maya writes them), statements spanning
lines, ``//`` and ``/* */`` comments, and MEL string escapes. It reads:

* references: ``file -r`` / ``file -rdi 1`` (the path is the last argument; Maya's ``{N}`` copy
  suffix dropped). Deeper ``-rdi N`` lines repeat what the referenced files hold; discovery reads
  those files itself.
* paths in node attributes, from the node-type + attribute table in
  :mod:`azrender.discovery.maya_nodes` (``createNode`` / ``select -ne`` say which node a
  ``setAttr`` is for), with ``uvTilingMode`` and ``useFrameExtension`` honoured.

Speed: statements that cannot matter (``connectAttr``, mesh data, ``setAttr`` on nodes of no
interest...) are skipped inside the regular expression engine, so Python only sees the
``createNode``/``setAttr``/``select``/``file`` statements that can.
"""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass, field

from azrender.discovery import maya_nodes
from azrender.discovery.model import Kind
from azrender.discovery.readers import Reading, ScanContext, Scanner
from azrender.discovery.resolve import RawReference
from azrender.errors import SceneError

_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
# A statement body up to (not including) its ';' or a comment; unrolled, so it never backtracks.
_BODY_PATTERN = rf'[^;"/]*(?:(?:{_STRING}|/(?![/*]))[^;"/]*)*'
_BODY = re.compile(_BODY_PATTERN)
_KEYWORDS = r"(?:createNode|setAttr|select|file)"


def _gap(needed: str) -> str:
    """Whitespace, comments and whole statements that do not start like ``needed``."""
    return rf'(?:\s+|//[^\n]*|/\*.*?\*/|(?!{needed})[^\s;"/]{_BODY_PATTERN};)*'


_GAP = re.compile(_gap(rf"{_KEYWORDS}[\s;]"), re.S)


def _alternation(names) -> str:
    return "|".join(map(re.escape, sorted(names, key=len, reverse=True)))


@functools.lru_cache(maxsize=8)
def _fast_paths(types: frozenset[str], attributes: frozenset[str]) -> tuple[re.Pattern, re.Pattern]:
    """Two patterns that skip, inside the regex engine, every statement that cannot change what is
    found: one while no node of interest is current, one while one is. Each matches the gap and the
    next statement worth reading. The gap is matched in a lookahead and consumed by back-reference:
    an atomic group, so a failed match never backtracks into it (Python 3.10 has none)."""
    wanted_attribute = rf'"\.(?:[^"]*\.)?(?:{_alternation(attributes)})(?:\[[^"]*\])?"'
    always = r"select(?=[\s;])|file(?=[\s;])|setAttr(?=\s)(?=[^\";]*\"(?!\.))"  # setAttr "node.attr" names its node
    idle = rf'createNode\s+"?(?:{_alternation(types)})"?(?=[\s;])|{always}'
    busy = rf'createNode(?=[\s;])|{always}|setAttr(?=\s)(?=[^\";]*{wanted_attribute})'
    idle_pattern, busy_pattern = (
        re.compile(rf"(?=(?P<gap>{_gap(needed)}))(?P=gap)(?P<keyword>{_KEYWORDS})(?P<body>(?=[\s;]){_BODY_PATTERN});", re.S)
        for needed in (idle, busy))
    return idle_pattern, busy_pattern


_KEYWORD = re.compile(rf"({_KEYWORDS})(?=[\s;])")
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_TOKEN = re.compile(rf'{_STRING}|[^\s"]+')
_ESCAPE = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_COPY_SUFFIX = re.compile(r"\{\d+\}$")
_CODESET = re.compile(rb"^//Codeset: *([^\r\n]+)", re.M)


def _unquote(token: str) -> str | None:
    """The value of a MEL string token, or None when the token is not a string."""
    if len(token) < 2 or token[0] != '"':
        return None
    if "\\" not in token:
        return token[1:-1]
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
    name = token[token.rfind(".") + 1:]
    bracket = name.find("[")
    return name if bracket < 0 else name[:bracket]


class _Reader:
    """Follows which node each ``setAttr`` is for; statement bodies arrive without their keyword."""

    def __init__(self, path: str, table: maya_nodes.PathTable):
        self.path = path
        self.table = table
        # node type -> the attributes worth tokenizing a setAttr for (paths and their modifiers)
        self.wanted: dict[str, set[str]] = {t: set(table.rows[t]) for t in table.node_types}
        for extra in (maya_nodes.UV_TILING_MODE, maya_nodes.USE_FRAME_EXTENSION, {"cacheFile": maya_nodes.CACHE_FILE_NAME}):
            for node_type, names in extra.items():
                self.wanted.setdefault(node_type, set()).update(names)
        self.nodes: list[_Node] = []
        self.by_name: dict[str, _Node] = {}
        self.current: _Node | None = None
        self.references: list[RawReference] = []

    # ---- statements ----
    def create_node(self, body: str) -> None:
        head = body.split(None, 1)
        node_type = head[0].strip('"') if head else ""
        if node_type not in self.wanted:
            self.current = None
            return
        tokens = _TOKEN.findall(body)
        name = node_type
        for flag, value in zip(tokens, tokens[1:]):
            if flag in ("-n", "-name"):
                name = _unquote(value) or value
        self.current = _Node(node_type, name)
        self.nodes.append(self.current)
        self.by_name[name] = self.current

    def select(self, body: str) -> None:
        tokens = _TOKEN.findall(body)
        if tokens and ("-ne" in tokens or "-noExpand" in tokens):
            name = _unquote(tokens[-1]) or tokens[-1]
            self.current = self.by_name.get(name.lstrip(":"))

    def set_attr(self, body: str) -> None:
        quote = body.find('"')
        if quote < 0:
            return
        target = body[quote + 1:body.find('"', quote + 1)]  # attribute names hold no escapes
        if target.startswith("."):
            node = self.current
        else:  # setAttr "file1.ftn" ...
            node = self.by_name.get(target.split(".", 1)[0].lstrip(":").rsplit("|", 1)[-1])
        if node is None or _attribute(target) not in self.wanted[node.type]:
            return
        tokens = _TOKEN.findall(body)
        strings = [(i, _unquote(t)) for i, t in enumerate(tokens) if t[0] == '"']
        index = strings[0][0]
        type_index = tokens.index("-type") + 1 if "-type" in tokens else -1
        values = [value for i, value in strings[1:] if i != type_index]
        if not values and len(tokens) > index + 1:
            values = [tokens[-1]]  # a plain value: setAttr ".uvt" 3;
        node.values[_attribute(target)] = values

    def file(self, body: str) -> None:
        tokens = _TOKEN.findall(body)
        depth, reference_node = None, "file -r"
        for flag, value in zip(tokens, tokens[1:]):
            if flag in ("-rdi", "-referenceDepthInfo"):
                depth = value
            elif flag in ("-rfn", "-referenceNode"):
                reference_node = _unquote(value) or value
        if depth is None and not ("-r" in tokens or "-reference" in tokens):
            return
        if depth is not None and depth != "1" or not tokens:
            return
        path = _unquote(tokens[-1])
        if path:
            self.references.append(RawReference(_COPY_SUFFIX.sub("", path), Kind.REFERENCE, reference_node, self.path, "maya"))

    # ---- results ----
    def node_references(self) -> list[RawReference]:
        found = []
        for node in self.nodes:
            values = node.values

            def get(name: str, values=values):
                value = values.get(name)
                return value[0] if value and len(value) == 1 else value or None

            found.extend(maya_nodes.node_references(self.table, node.name, node.type, get, self.path))
        return found


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _statement(text: str, pos: int, path: str) -> tuple[str, int]:
    """Read one statement exactly from ``pos`` (comments inside it allowed); return it and the
    position after its ';'. Raises SceneError for a truncated or malformed one."""
    start, parts = pos, []
    while True:
        body = _BODY.match(text, pos)
        parts.append(body.group())
        pos = body.end()
        if pos >= len(text):
            raise SceneError(f"{path}: truncated file: statement at line {_line(text, start)} has no ';'")
        char = text[pos]
        if char == ";":
            return "".join(parts), pos + 1
        if char == '"':
            raise SceneError(f"{path}: truncated or corrupt file: unterminated string at line {_line(text, pos)}")
        comment = _COMMENT.match(text, pos)
        if comment is None:
            raise SceneError(f"{path}: unterminated /* comment at line {_line(text, pos)}")
        pos = comment.end()


def parse(text: str, path: str, table: maya_nodes.PathTable) -> list[RawReference]:
    """The raw references in Maya ASCII ``text`` (already decoded)."""
    reader = _Reader(path, table)
    handlers = {"setAttr": reader.set_attr, "createNode": reader.create_node,
                "select": reader.select, "file": reader.file}
    idle, busy = _fast_paths(frozenset(reader.wanted), frozenset().union(*reader.wanted.values()))
    size, pos = len(text), 0
    while pos < size:
        # Fast path: skip to the next statement worth reading and take it whole, in one C call.
        match = (idle if reader.current is None else busy).match(text, pos)
        if match:
            handlers[match["keyword"]](match["body"])
            pos = match.end()
            continue
        # Slow path (a comment inside a statement, an odd statement, or an error to report).
        pos = _GAP.match(text, pos).end()
        if pos >= size:
            break
        keyword = _KEYWORD.match(text, pos)
        statement, pos = _statement(text, pos, path)
        if keyword:
            handlers[keyword.group(1)](statement[keyword.end() - keyword.start():])
    return reader.references + reader.node_references()


def read_maya_ascii(path: str, context: ScanContext) -> Reading:
    with open(path, "rb") as handle:
        raw = handle.read()
    text, warnings = decode(raw, path)
    table = maya_nodes.path_table(context.plugin_manager)
    return Reading(tuple(parse(text, path, table)), tuple(warnings))


SCANNER = Scanner(name="maya-ascii", extensions=(".ma",), scan=read_maya_ascii)
