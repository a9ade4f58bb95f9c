"""Where things live, in the store and on a render node. Every stage and the node-side scripts
agree on these names; change them here only (``azrender/node/`` mirrors the few it needs, since it
must run with the standard library alone).

Store (a container plus an optional prefix ``P``)::

    P/content/<hh>/<xxh3-128 hash>            every file's bytes once (azrender.sync.content), metadata azrender_xxh3
    P/manifests/<job-id>.json                 what one submission reads: key -> hash (versioned JSON)
    P/<folder>.manifest.json                  a folder synced with `azrender sync`: what it is now
    P/gc.json                                 a running `azrender gc` (syncs wait for it to end)
    P/jobs/<job-id>/outputs/...               rendered frames of every task (on task success)
    P/jobs/<job-id>/logs/<task-id>/...        stdout/stderr of every task (on task completion)
    P/jobs/<job-id>/job.json                  the job record (versioned JSON)
    P/tools/azrender_node-<hash>.pyz          the node-side helper (zipapp), fetched as one resource file

A manifest's keys (``assets/<root-alias>/<relative path>``, ``submissions/<hash>/<name>``) are
paths in the job's view, not store keys. Older stores hold the bytes at those keys (manifest
version 1); ``azrender migrate`` moves them.

Node (every mode): the job's view, built by the preparation task::

    $AZ_BATCH_JOB_PREP_WORKING_DIR/view/assets/<root-alias>/...  links (or copies) to the content

Node (copy mode)::

    $AZ_BATCH_NODE_SHARED_DIR/azrender/content/<hh>/<hash>      kept across jobs (LRU-evicted)
    $AZ_BATCH_NODE_SHARED_DIR/azrender/cache-state.json         what is cached, last use, pins

Node (blobfuse / Azure Files on Linux)::

    $AZ_BATCH_NODE_MOUNTS_DIR/<relative mount path>/P/content/...
"""

from __future__ import annotations

import re

from azrender.errors import UsageError

HASH_METADATA_KEY = "azrender_xxh3"  # blob metadata: xxh3-128 hex digest of the content
ASSETS = "assets"
CONTENT = "content"
MANIFESTS = "manifests"
SUBMISSIONS = "submissions"
JOBS = "jobs"
TOOLS = "tools"
NODE_TOOL = "azrender_node.pyz"  # its name on the node, in the job preparation task's folder
NODE_CACHE_DIR = "azrender"  # under AZ_BATCH_NODE_SHARED_DIR
DEFAULT_MOUNT_PATH = "azrender"  # relativeMountPath of blobfuse / Azure Files mounts
NODE_VIEW_DIR = "view"  # the job's view, in the preparation task's working directory (node/prep.py)


def join(*parts: str) -> str:
    """Join store key parts with '/', skipping empty ones (the prefix may be empty)."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def content_key(digest: str) -> str:
    """Where the bytes of hash ``digest`` are stored (azrender.sync.content)."""
    return f"{CONTENT}/{digest[:2]}/{digest}"


def asset_key(alias: str, relative: str) -> str:
    return join(ASSETS, alias, relative)


def manifest_key(manifest_id: str) -> str:
    return join(MANIFESTS, f"{manifest_id}.json")


def job_key(job_id: str, *rest: str) -> str:
    return join(JOBS, job_id, *rest)

MAX_ID = 64
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_id(kind: str, value: str) -> str:
    """A Batch id (job, task, pool): 1-64 letters, digits, '-' or '_'. Ids name store prefixes and
    folders, so nothing else may reach a path."""
    if not isinstance(value, str) or not _ID.match(value):
        raise UsageError(f"invalid {kind} id {value!r}: use at most {MAX_ID} letters, digits, '-' or '_'")
    return value
