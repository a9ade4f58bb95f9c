"""Every file the open 3ds Max scene uses, read through ``pymxs``: the AssetManager (each asset's
path as stored, its type, and the path 3ds Max resolved it to), then ATSOps (the Asset Tracking
System) for any file it tracks that the AssetManager did not list."""

from __future__ import annotations

import os

import pymxs
from pymxs import runtime as rt

from azrender.discovery.model import Kind
from azrender.discovery.resolve import RawReference
from azrender.discovery.max_assets import asset_reference


def scene_path() -> str:
    return os.path.join(rt.maxFilePath, rt.maxFileName) if rt.maxFileName else ""


def _asset_manager(scene: str) -> tuple[list[RawReference], set[str]]:
    """The input files among the AssetManager's assets, and every path it knows (outputs too)."""
    refs, known = [], set()
    manager = rt.AssetManager
    for index in range(1, manager.GetNumAssets() + 1):
        asset = manager.GetAssetByIndex(index)
        stored = asset.GetFileName()
        resolved = asset.GetFullFilePath() if asset.CanGetFullFilePath() else ""
        known.update(os.path.normcase(p) for p in (stored, resolved) if p)
        ref = asset_reference(str(asset.GetType()), stored, resolved, scene=scene,
                              source=f"AssetManager:{asset.GetAssetId()}")
        if ref is not None:
            refs.append(ref)
    return refs, known


def _tracked_files() -> list[str]:
    rt.ATSOps.Refresh()
    _, files = rt.ATSOps.GetFiles(pymxs.byref(None))
    return list(files or ())


def raw_references() -> list[RawReference]:
    scene = scene_path()
    refs, claimed = _asset_manager(scene)
    claimed.add(os.path.normcase(scene))  # ATSOps lists the scene file itself
    for path in _tracked_files():
        if os.path.normcase(path) not in claimed:
            claimed.add(os.path.normcase(path))
            refs.append(RawReference(path=path, kind=Kind.OTHER, source="ATSOps", scene=scene, host="max"))
    return refs
