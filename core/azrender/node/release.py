"""``release``: the job release task. Removes this job's own files from the node and its pin on
cached assets (the shared asset cache stays for the next job), and unmounts a preparation-task
blobfuse mount once no job on the node uses it. Only deletes and a small state write: it finishes
in seconds, well inside Batch's 15-minute limit.
"""

from __future__ import annotations

import os
import shutil
import sys

from . import cache, mount
from .prep import JOB_DIR, default_root


def register(parser) -> None:
    parser.add_argument("--job", required=True, help="job id")
    parser.add_argument("--root", default=None, help="cache root (default $AZ_BATCH_NODE_SHARED_DIR/azrender)")
    parser.add_argument("--unmount", metavar="MOUNT_PATH", help="blobfuse mount to remove when no job needs it")


def run(args) -> int:
    root = args.root or default_root()
    job_dir = os.path.join(root, JOB_DIR, args.job)
    if os.path.dirname(os.path.realpath(job_dir)) != os.path.realpath(os.path.join(root, JOB_DIR)):
        print(f"azrender release: refusing job id {args.job!r}", file=sys.stderr)
        return 2
    with cache.locked(root):
        state = cache.load_state(root)
        state["pins"].pop(args.job, None)
        cache.save_state(root, state)
        shutil.rmtree(job_dir, ignore_errors=True)
        if args.unmount and not state["pins"]:
            error = mount.unmount(root, args.unmount)
            if error:
                print(f"azrender release: {error}", file=sys.stderr)
                return 1
    print(f"azrender release: removed {args.job}'s files")
    return 0
