"""Manifests on the workstation: the format of :mod:`azrender.node.manifest` (one encoder and
decoder, shipped to render nodes in the node tool), decoding errors as a :class:`StoreError`."""

from __future__ import annotations

from azrender.errors import StoreError
from azrender.node import manifest as _format
from azrender.node.manifest import LEGACY_VERSION, VERSION, VERSIONS, ManifestEntry

__all__ = ["LEGACY_VERSION", "VERSION", "VERSIONS", "Manifest", "ManifestEntry", "ManifestError"]


class ManifestError(StoreError, _format.ManifestError):
    """A manifest that is not valid JSON, has an unknown version or malformed entries."""


class Manifest(_format.Manifest):
    Error = ManifestError
