"""How render nodes reach the stores of a submission: least-privilege SAS URLs from the sync
stage's stores (read/list on the assets, create/write on the outputs) that expire with the job,
or plain URLs when the pool's managed identity does the authorising.

Where the read SAS travels: only in the requests Batch keeps (resource file and output file URLs,
a blobfuse mount's ``sasKey``) and in the job preparation task's environment setting
:data:`SAS_VARIABLE`, which the node tool reads. Never in the store (any later job's read SAS
could read it there), never in a command line, never in a file on the node."""

from __future__ import annotations

import urllib.parse
from datetime import datetime, timedelta

from azrender.errors import UsageError
from azrender.jobs.model import NodeAccess

ACCESS_LIFETIME = timedelta(days=7)  # SAS tokens given to nodes expire with the job's useful life
ASSETS_PERMISSIONS = "rl"
OUTPUTS_PERMISSIONS = "cw"
FRAMES_PERMISSIONS = "rcw"  # per-frame upload: which frames are there already, then each frame
SAS_VARIABLE = "AZRENDER_STORE_SAS"  # azrender.node.store.SAS_VARIABLE: the node tool runs without the core


def node_access(assets, outputs, *, expires: datetime, identity_resource_id: str | None = None,
                allow_broad_sas: bool = False) -> NodeAccess:
    """``assets`` / ``outputs``: :class:`azrender.sync.store.Store` objects (their prefixes
    included in the URLs). ``expires``: when the job's SAS tokens stop working.

    A store opened with a SAS can only pass that SAS on: it is refused when it grants nodes more
    than they need (another container, delete..., a life past the job's) unless ``allow_broad_sas``."""
    if not identity_resource_id and not allow_broad_sas:
        for store in {id(s): s for s in (assets, outputs)}.values():
            _refuse_broad_sas(store, expires)

    def url(store, permissions: str) -> str:
        if identity_resource_id:
            return store.display_url
        base, _, query = store.node_access_url(permissions, expires).partition("?")
        if store.prefix:
            base = f"{base.rstrip('/')}/{urllib.parse.quote(store.prefix, safe='/')}"
        return f"{base}?{query}" if query else base

    return NodeAccess(url(assets, ASSETS_PERMISSIONS), url(outputs, OUTPUTS_PERMISSIONS), identity_resource_id,
                      frames_url=url(outputs, FRAMES_PERMISSIONS))


def _refuse_broad_sas(store, until: datetime) -> None:
    from azrender.sync import sas

    given = store.given_sas
    found = sas.parse(given).beyond(ASSETS_PERMISSIONS + OUTPUTS_PERMISSIONS + "a", until) if given else []
    if found:
        raise UsageError(
            f"{store.display_url}: the SAS in the store URL {' and '.join(found)}, and render nodes would get it "
            "as given; use an account key or az login (nodes then get a read/list and a create/write SAS "
            f"minted for the job), a container SAS with sp=racwl valid until {until:%Y-%m-%d}, "
            "or pass --allow-broad-sas")
