"""Records of path mapping: a parsed local path, an asset root, a mapping rule, a mapped dependency."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from azrender.discovery.model import Dependency
from azrender.node import pathtext


@dataclass(frozen=True)
class LocalPath:
    """An absolute path as the artist's machine knows it, parsed on any OS.

    flavor: ``windows`` (``C:\\...``), ``unc`` (``\\\\server\\share\\...``) or ``posix`` (Linux, macOS).
    anchor: ``C:``, ``\\\\server\\share`` or ``/``; parts: the normalised components after it.
    """

    flavor: str
    anchor: str
    parts: tuple[str, ...]

    def __str__(self) -> str:
        return pathtext.join(self.flavor, self.anchor, self.parts)

    @property
    def parent(self) -> "LocalPath":
        return LocalPath(self.flavor, self.anchor, self.parts[:-1])

    def is_within(self, other: "LocalPath") -> bool:
        return pathtext.is_within(self._split(), other._split())

    def relative_to(self, other: "LocalPath") -> tuple[str, ...]:
        if not self.is_within(other):
            raise ValueError(f"{self} is not under {other}")
        return self.parts[len(other.parts):]

    def _split(self):
        return self.flavor, self.anchor, self.parts


def parse_local_path(text: str) -> LocalPath:
    """Parse an absolute Windows, UNC or POSIX path (on any OS). ValueError if it is relative."""
    return LocalPath(*pathtext.split(str(text)))


def absolute_local(text: str) -> str:
    """``text`` if it is absolute in any flavor, else made absolute against this machine's cwd."""
    try:
        parse_local_path(text)
        return str(text)
    except ValueError:
        return os.path.abspath(text)


@dataclass(frozen=True)
class AssetRoot:
    """A local folder whose files are stored under ``assets/<alias>/``.

    prefix: the folder in its own flavor (``C:\\projects\\shot``, ``\\\\nas\\lib``, ``/home/me/proj``).
    """

    alias: str
    prefix: str

    @property
    def local(self) -> LocalPath:
        return parse_local_path(self.prefix)


@dataclass(frozen=True)
class MappingRule:
    """Files under ``source_prefix`` (a local path, any flavor) are at ``destination_prefix`` on a
    node running ``node_os``. The destination may hold ``$VAR`` / ``%VAR%`` the node expands.
    alias: the asset root the rule came from, or None for a TD's rule pointing at files the node
    already has (nothing is uploaded for them)."""

    source_prefix: str
    destination_prefix: str
    node_os: str = "linux"
    alias: str | None = None

    def to_json(self) -> dict:
        return {"source": self.source_prefix, "destination": self.destination_prefix,
                "node_os": self.node_os, "alias": self.alias}

    @classmethod
    def from_json(cls, data: dict) -> "MappingRule":
        return cls(data["source"], data["destination"], data.get("node_os", "linux"), data.get("alias"))


def rules_to_json(rules) -> dict:
    """The versioned rules document the node-side scripts read."""
    return {"version": pathtext.RULES_VERSION, "rules": [rule.to_json() for rule in rules]}


def rules_from_json(data: dict) -> list[MappingRule]:
    if data.get("version") != pathtext.RULES_VERSION:
        raise ValueError(f"unsupported rules version {data.get('version')!r}")
    return [MappingRule.from_json(rule) for rule in data["rules"]]


def map_local(path: str, rules) -> tuple[MappingRule, str] | None:
    """The rule mapping local ``path`` (longest source prefix wins; the later of equal ones) and
    the node path it gives, or None when no rule holds it."""
    found = _rule_table(tuple(rules)).find(path)
    if found is None:
        return None
    rule, rest = found
    return rule, pathtext.destination_path(rule.destination_prefix, rule.node_os, rest)


@functools.lru_cache(maxsize=16)  # a submission maps every dependency through the same rules
def _rule_table(rules: tuple[MappingRule, ...]) -> pathtext.PrefixTable:
    return pathtext.PrefixTable((rule.source_prefix, rule) for rule in rules)


@dataclass(frozen=True)
class MappedDependency:
    """One dependency with its storage key and its path on the node.

    key: ``assets/<alias>/<rel>`` or None when nothing is uploaded (the path is not absolute, or
    a TD rule points at files the node already has); node_path: None when no rule maps it.
    """

    local_path: str
    key: str | None
    node_path: str | None
    dependency: Dependency

    def to_json(self) -> dict:
        return {"local_path": self.local_path, "key": self.key, "node_path": self.node_path,
                "exists": self.dependency.exists, "kind": self.dependency.kind.value,
                "source": self.dependency.source}
