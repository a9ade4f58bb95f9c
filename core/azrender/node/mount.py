"""Blobfuse2 mount by the preparation task, for pools that cannot be recreated with a mount
configuration. The container appears read-only at ``$AZ_BATCH_NODE_MOUNTS_DIR/<mount path>``, the
same place a pool-level mount would put it, with blobfuse2's block cache on the node's local disk
(or a RAM disk). The release task unmounts it once no job on the node pins it any more.

The SAS (when no managed identity is used) arrives in the preparation task's environment and is
written only into the blobfuse2 config file, readable by root alone, which the unmount removes.
"""

from __future__ import annotations

import os
import subprocess
import sys

CONFIG_NAME = "blobfuse2.yaml"


def register(parser) -> None:
    parser.add_argument("--mount", choices=["blobfuse"], help="mount the container instead of copying assets")
    parser.add_argument("--account", help="storage account (blobfuse)")
    parser.add_argument("--container", help="container (blobfuse)")
    parser.add_argument("--endpoint", help="blob endpoint (default https://ACCOUNT.blob.core.windows.net)")
    parser.add_argument("--mount-path", default="azrender", help="relative to $AZ_BATCH_NODE_MOUNTS_DIR")
    parser.add_argument("--mount-cache", default="/mnt/azrender-blobfuse-cache", help="block cache folder (local disk)")
    parser.add_argument("--ram-cache", action="store_true", help="keep the block cache in /dev/shm")


def mount_point(relative: str) -> str:
    base = os.environ.get("AZ_BATCH_NODE_MOUNTS_DIR") or os.path.join(os.environ.get("AZ_BATCH_NODE_ROOT_DIR", "/"), "fsmounts")
    return os.path.join(base, relative)


def config_text(*, account: str, container: str, endpoint: str | None, cache_path: str,
                sas: str | None, identity: str | None) -> str:
    """The blobfuse2 configuration: read-only, block cache, long attribute cache."""
    if identity:
        auth = f"  mode: msi\n  resid: {identity}\n"
    elif sas:
        auth = f"  mode: sas\n  sas: ?{sas}\n"
    else:
        raise ValueError("blobfuse needs the store SAS (AZRENDER_STORE_SAS) or --identity")
    return (
        "allow-other: true\nread-only: true\n"
        "logging:\n  type: syslog\n  level: log_warning\n"
        "components:\n  - libfuse\n  - block_cache\n  - attr_cache\n  - azstorage\n"
        "libfuse:\n  attribute-expiration-sec: 240\n  entry-expiration-sec: 240\n"
        f"block_cache:\n  block-size-mb: 16\n  path: {cache_path}\n"
        "attr_cache:\n  timeout-sec: 7200\n"
        f"azstorage:\n  type: block\n  account-name: {account}\n  container: {container}\n"
        f"  endpoint: {endpoint or f'https://{account}.blob.core.windows.net'}\n" + auth
    )


def mount(args, root: str, *, sas: str | None) -> int:
    from . import cache

    if not (args.account and args.container):
        print("azrender prep: --mount blobfuse needs --account and --container", file=sys.stderr)
        return 2
    target = mount_point(args.mount_path)
    with cache.locked(root):
        state = cache.load_state(root)
        if not os.path.ismount(target):
            cache_path = "/dev/shm/azrender-blobfuse-cache" if args.ram_cache else args.mount_cache
            for folder in (target, cache_path):
                os.makedirs(folder, exist_ok=True)
            config = os.path.join(root, CONFIG_NAME)
            fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(config_text(account=args.account, container=args.container, endpoint=args.endpoint,
                                    cache_path=cache_path, sas=sas, identity=args.identity))
            proc = subprocess.run(["blobfuse2", "mount", target, f"--config-file={config}"],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                os.remove(config)
                print(f"azrender prep: blobfuse2 could not mount {args.container} at {target}: "
                      f"{proc.stderr.strip() or proc.stdout.strip()}", file=sys.stderr)
                return 4
        state["pins"][args.job] = []
        cache.save_state(root, state)
    print(f"azrender prep: {args.container} mounted at {target}")
    return 0


def unmount(root: str, relative: str) -> str | None:
    """Unmount the container; returns an error message or None."""
    target = mount_point(relative)
    if os.path.ismount(target):
        for argv in (["blobfuse2", "unmount", target], ["fusermount3", "-u", target], ["fusermount", "-u", target]):
            try:
                if subprocess.run(argv, capture_output=True).returncode == 0:
                    break
            except FileNotFoundError:
                continue
        else:
            return f"could not unmount {target}"
    config = os.path.join(root, CONFIG_NAME)
    if os.path.exists(config):
        os.remove(config)
    return None
