"""Which Blender a Batch pool provides, and which pool a Blender scene goes to.

A pool azrender creates with a pinned Blender (:mod:`azrender.jobs.provision`) records that version
in its metadata (``azrender.blender``), so a later submission knows what the pool's nodes run: a
reused pool keeps its Blender. While planning, :func:`choose` picks the configured pool when it
provides the wanted Blender, else the pool for that version (``<pool>-blender-4-5-3``, created
when missing and the profile describes pools), or refuses in one line naming both versions and
what to do. Pure: the caller reads the pools' records (``lookup``); a dry run reads none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from azrender.errors import UsageError
from azrender.node.blender_version import opens, parse, pool_todo, refusal

METADATA = "azrender.blender"  # pool metadata: the Blender version its start task installs
MISSING = object()  # lookup(): no such pool


@dataclass(frozen=True)
class PoolBlender:
    pool_id: str
    version: str | None  # the X.Y.Z the pool provides (its record), None when it does not say
    create: bool = False  # the pool does not exist yet: create it with ``version``'s start task


def recorded(pool) -> str | None:
    """The Blender version in a pool's metadata (an SDK ``BatchPool``), or None."""
    for item in getattr(pool, "metadata", None) or ():
        if item.name == METADATA:
            return item.value
    return None


def versioned_id(base: str, version: str) -> str:
    """The pool azrender creates for Blender ``version`` beside ``base`` (ids: at most 64 chars)."""
    suffix = "-blender-" + version.replace(".", "-")
    return base[: 64 - len(suffix)] + suffix


def choose(pool_id: str, *, pinned: str | None, scene: tuple | None, scene_name: str, can_create: bool,
           lookup: Callable[[str], object]) -> PoolBlender:
    """The pool a Blender job goes to. ``pinned``: the X.Y.Z asked for (``--blender``, the
    profile's); ``scene``: the (major, minor) that saved the scene; ``can_create``: the profile
    describes pools azrender creates; ``lookup(id)``: that pool's recorded version, ``None`` when
    it records none, :data:`MISSING` when there is no such pool."""
    if pinned:
        candidates = (pool_id, versioned_id(pool_id, pinned)) if can_create else (pool_id,)
        others = []
        for candidate in candidates:
            found = lookup(candidate)
            if found is MISSING:  # created here, or (not ours to create) the submission says it is missing
                return PoolBlender(candidate, pinned, create=can_create)
            if found == pinned:
                return PoolBlender(candidate, pinned)
            others.append(f"pool {candidate} provides " + (f"Blender {found}" if found else "a Blender it does not record"))
        todo = (f"delete pool {candidates[-1]} for azrender to create it again with Blender {pinned}" if can_create
                else f"choose a pool azrender created with Blender {pinned} (--pool, or pool_id in the profile), or add "
                     "a [profiles.NAME.pool] table so azrender creates one")
        raise UsageError(f"{' and '.join(others)}, not the pinned Blender {pinned} ({todo})")
    found = lookup(pool_id)
    version = found if isinstance(found, str) else None
    if version and scene and not opens(parse(version), scene):
        raise UsageError(refusal(parse(version), scene, scene_name, where=f"pool {pool_id}'s Blender",
                                 todo=pool_todo(scene, can_create)))
    return PoolBlender(pool_id, version, create=found is MISSING and can_create)
