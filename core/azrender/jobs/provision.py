"""A pinned Blender on Azure Linux nodes: the pool's start task installs the official Blender build
of one version (``blender = "4.5.3"`` in the profile, or ``submit --blender 4.5.3``), verified
against its SHA-256 and cached per version on the node, so every task runs exactly that Blender.

The rendering VM images are retired: nodes get their software from a custom image, application
packages or a start task; this is the start-task recipe. The download comes from
``$AZRENDER_BLENDER_MIRROR`` (default download.blender.org) with its published ``.sha256`` file,
or a checksum pinned in the profile (``blender_sha256``), which a studio mirror cannot alter.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import replace
from pathlib import Path

from azrender import layout
from azrender.errors import JobError, UsageError
from azrender.jobs.model import LINUX, NodeAccess, NodeTaskSpec, PoolSpec, ResourceFileSpec

ROOT = "/opt/azrender/blender"  # one folder per version: the node's cache survives reboots
MIRROR = "https://download.blender.org/release"
# What the official Linux build needs beyond a server image (X and GL client libraries).
LIBRARIES = "libxrender1 libxi6 libxkbcommon0 libsm6 libgl1 libxxf86vm1 libxfixes3 libegl1 xz-utils curl"

_SCRIPT = r"""
v=$AZRENDER_BLENDER_VERSION; root=${AZRENDER_BLENDER_ROOT:-%(root)s}/$v
if [ -x "$root/blender" ] && "$root/blender" --version 2>/dev/null | grep -q "^Blender $v\b"; then
  echo "azrender: Blender $v already installed in $root"; exit 0
fi
if [ "${AZRENDER_BLENDER_LIBRARIES:-1}" = 1 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends %(libraries)s
fi
archive=blender-$v-linux-x64.tar.xz; base=${AZRENDER_BLENDER_MIRROR:-%(mirror)s}/Blender${v%%.*}
work=$(mktemp -d); cd "$work"
curl -fsSL --retry 5 -o "$archive" "$base/$archive"
if [ -n "${AZRENDER_BLENDER_SHA256:-}" ]; then
  echo "$AZRENDER_BLENDER_SHA256  $archive" > sum
else
  curl -fsSL --retry 5 "$base/blender-$v.sha256" | grep " \*\?$archive\$" > sum || true
fi
[ -s sum ] || { echo "azrender: no SHA-256 for $archive at $base" >&2; exit 1; }
sha256sum -c --status sum || { echo "azrender: $archive does not match its SHA-256: not installed" >&2; exit 1; }
rm -rf "$root.part" && mkdir -p "$root.part"
tar -xJf "$archive" -C "$root.part" --strip-components=1
rm -rf "$root" && mv "$root.part" "$root" && cd / && rm -rf "$work"
"$root/blender" --version | head -n 1
"""


def full_version(text: str) -> str | None:
    """``4.5.3`` when ``text`` is a full Blender version, else None."""
    return text if re.fullmatch(r"\d+\.\d+\.\d+", text or "") else None


def node_executable(version: str) -> str:
    return f"{ROOT}/{version}/blender"


def blender_start_task(version: str, sha256: str | None = None) -> NodeTaskSpec:
    """The start task installing Blender ``version`` (X.Y.Z) on a Linux node, idempotently."""
    if not full_version(version):
        raise UsageError(f"a pinned Blender for Azure nodes needs its full version, not {version!r}",
                         hint="e.g. blender = \"4.5.3\" in the profile, or --blender 4.5.3")
    if sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise UsageError(f"blender_sha256 {sha256!r} is not a SHA-256 (64 hexadecimal digits)")
    script = "set -euo pipefail" + _SCRIPT % {"root": ROOT, "mirror": MIRROR, "libraries": LIBRARIES}
    environment = (("AZRENDER_BLENDER_VERSION", version),) + ((("AZRENDER_BLENDER_SHA256", sha256),) if sha256 else ())
    return NodeTaskSpec(command_line="/bin/bash -c " + shlex.quote(script), environment=environment,
                        elevated=True, retries=2)


# ---- xxhash on the nodes ----------------------------------------------------------------------

WHEELS = Path(__file__).with_name("wheels")  # the pinned xxhash wheels (azrender.node.provide.WHEELS)


def node_python_uploads() -> dict[str, bytes]:
    """The pinned xxhash wheels by store key (``tools/<wheel>``), each checked against its SHA-256."""
    from azrender.node.provide import WHEELS as PINNED

    uploads = {}
    for name, sha256 in PINNED.values():
        data = (WHEELS / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise JobError(f"{WHEELS / name} is not the pinned wheel (SHA-256 differs); reinstall azrender")
        uploads[layout.join(layout.TOOLS, name)] = data
    return uploads


def upload_node_python(store) -> None:
    """Put the pinned wheels in ``store`` unless they are there (their names say their content)."""
    existing = {obj.key for obj in store.list(layout.TOOLS)}
    for key, data in node_python_uploads().items():
        if key not in existing:
            store.write_bytes(key, data)


def with_node_python(spec: PoolSpec, access: NodeAccess) -> PoolSpec:
    """A Linux pool azrender creates: its start task first installs the pinned xxhash wheel from the
    store (``azrender_node.pyz provide``), so every node hashes what it copies and reads, with or
    without internet. A store on a share (Batch downloads nothing from one) keeps the start task."""
    from azrender.jobs.build import TOOL_FILE
    from azrender.jobs.nodetool import node_tool_key
    from azrender.jobs.urls import parse_store_url
    from azrender.node.provide import WHEELS as PINNED

    store = parse_store_url(access.assets_url)
    if spec.node_os != LINUX or store.is_share:
        return spec
    files = (ResourceFileSpec(TOOL_FILE, http_url=store.blob_url(node_tool_key())),) + tuple(
        ResourceFileSpec(name, http_url=store.blob_url(layout.join(layout.TOOLS, name))) for name, _ in PINNED.values())
    provide = f"python3 -I -S {TOOL_FILE} provide --wheels ."
    start = spec.start_task
    if start is None:
        task = NodeTaskSpec(command_line="/bin/bash -c " + shlex.quote(provide), resource_files=files, retries=2)
    else:
        task = replace(start, command_line="/bin/bash -c " + shlex.quote(f"{provide} && {start.command_line}"),
                       resource_files=files + start.resource_files)
    return replace(spec, start_task=task)
