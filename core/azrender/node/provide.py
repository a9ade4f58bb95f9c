"""``provide``: the pool's start task makes the node's Python able to hash (xxh3-128), internet or
not. azrender uploads the pinned ``xxhash`` wheels to the store (``tools/``) and the start task gets
them as resource files; this installs the one for this Python into ``<node dir>/python/<tag>/``
(where :mod:`.digest` imports it from) once its SHA-256 matches the table below, which ships inside
the node tool, so a wheel replaced in the store is refused. A node with no matching wheel (another
Python or CPU) keeps going, and its preparation tasks say they check files by size only::

    python3 -I -S azrender_node.pyz provide --wheels .      # in the start task's working directory
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import shutil
import subprocess
import sys
import zipfile

from . import digest

XXHASH_VERSION = "3.5.0"
# CPython tag -> (wheel, SHA-256): Linux x86-64 (manylinux2014), the Pythons of current Batch images
WHEELS = {
    "cp310": ("xxhash-3.5.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
              "c0342aafd421795d740e514bc9858ebddfc705a75a8c5046ac56d85fe97bf196"),
    "cp311": ("xxhash-3.5.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
              "89997aa1c4b6a5b1e5b588979d1da048a3c6f15e55c11d117a56b75c84531f5a"),
    "cp312": ("xxhash-3.5.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
              "9d32a592cac88d18cc09a89172e1c32d7f2a6e516c3dfde1b9adb90ab5df54a6"),
    "cp313": ("xxhash-3.5.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
              "07fda5de378626e502b42b311b049848c2ef38784d0d67b6f30bb5008642f8eb"),
}
MARKER = "AZRENDER-WHEEL"  # in the installed folder: the SHA-256 of the wheel it came from
EXIT_REFUSED = 6
_EMPTY_XXH3_128 = "99aa06d3014798d86001c324468d497f"  # xxh3-128 of b"": the installed module works


def register(parser) -> None:
    parser.add_argument("--wheels", default=".", help="folder holding the wheels (the start task's resource files)")
    parser.add_argument("--shared", default=None, help="the node's shared folder (default $AZ_BATCH_NODE_SHARED_DIR)")


def wheel_for_this_python() -> tuple[str, str] | None:
    if sys.implementation.name != "cpython" or sys.platform != "linux" or platform.machine() != "x86_64":
        return None
    return WHEELS.get(digest.python_tag())


def run(args) -> int:
    shared = args.shared or os.environ.get("AZ_BATCH_NODE_SHARED_DIR")
    if not shared:
        print("azrender provide: --shared is required outside a Batch node", file=sys.stderr)
        return 2
    chosen = wheel_for_this_python()
    if chosen is None:
        print(f"azrender provide: no pinned xxhash wheel for this Python ({digest.python_tag()}, {sys.platform} "
              f"{platform.machine()}): this node checks files by size only", file=sys.stderr)
        return 0
    name, sha256 = chosen
    target = digest.site_dir(shared)
    try:
        with open(os.path.join(target, MARKER), encoding="ascii") as f:
            if f.read().strip() == sha256:
                print(f"azrender provide: xxhash {XXHASH_VERSION} already installed in {target}")
                return 0
    except OSError:
        pass
    try:
        with open(os.path.join(args.wheels, name), "rb") as f:
            data = f.read()
    except OSError as exc:
        print(f"azrender provide: cannot read {name} ({exc.strerror}): this node checks files by size only",
              file=sys.stderr)
        return 0
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        print(f"azrender provide: {name} is not the pinned wheel (SHA-256 {got}, expected {sha256}): "
              "not installed", file=sys.stderr)
        return EXIT_REFUSED
    part = f"{target}.part{os.getpid()}"
    shutil.rmtree(part, ignore_errors=True)
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        wheel.extractall(part)  # zipfile drops absolute and '..' parts of member names
    with open(os.path.join(part, MARKER), "w", encoding="ascii") as f:
        f.write(sha256)
    probe = subprocess.run([sys.executable, "-I", "-S", "-c",
                            f"import sys; sys.path.insert(0, {part!r}); import xxhash; "
                            "print(xxhash.xxh3_128_hexdigest(b''))"], capture_output=True, text=True)
    if probe.stdout.strip() != _EMPTY_XXH3_128:
        shutil.rmtree(part, ignore_errors=True)
        print(f"azrender provide: xxhash {XXHASH_VERSION} does not load in this Python "
              f"({probe.stderr.strip().splitlines()[-1:] or probe.returncode}): this node checks files by size only",
              file=sys.stderr)
        return 0
    shutil.rmtree(target, ignore_errors=True)
    os.replace(part, target)
    print(f"azrender provide: xxhash {XXHASH_VERSION} installed for {digest.python_tag()} in {target}")
    return 0
