"""How render nodes reach the stores of a submission: least-privilege SAS URLs from the sync
stage's stores (read/list on the assets, create/write on the outputs) that expire with the job,
or plain URLs when the pool's managed identity does the authorising."""

from __future__ import annotations

import urllib.parse
from datetime import datetime

from azrender.jobs.model import NodeAccess

ASSETS_PERMISSIONS = "rl"
OUTPUTS_PERMISSIONS = "cw"


def node_access(assets, outputs, *, expires: datetime, identity_resource_id: str | None = None) -> NodeAccess:
    """``assets`` / ``outputs``: :class:`azrender.sync.store.Store` objects (their prefixes
    included in the URLs). ``expires``: when the job's SAS tokens stop working."""

    def url(store, permissions: str) -> str:
        if identity_resource_id:
            return store.display_url
        base, _, query = store.node_access_url(permissions, expires).partition("?")
        if store.prefix:
            base = f"{base.rstrip('/')}/{urllib.parse.quote(store.prefix, safe='/')}"
        return f"{base}?{query}" if query else base

    return NodeAccess(url(assets, ASSETS_PERMISSIONS), url(outputs, OUTPUTS_PERMISSIONS), identity_resource_id)
