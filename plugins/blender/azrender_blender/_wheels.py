"""Make the bundled wheels importable when Blender did not install them itself.

Blender 4.2+ installs the wheels listed in ``blender_manifest.toml`` when the extension is
installed. Blender 3.x (a legacy add-on zip) knows nothing of wheels, so on first use the wheels
that fit this interpreter are unpacked (a wheel is a zip of its import tree) into ``_vendor/``
beside this file (or the user's Blender scripts folder when the add-on is installed read-only).
Plain standard library and bpy: nothing else may be importable yet.
"""

from __future__ import annotations

import os
import platform
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
WHEELS = os.path.join(HERE, "wheels")
VENDOR = os.path.join(HERE, "_vendor")


def _platform_fits(tag: str) -> bool:
    if tag == "any":
        return True
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if sys.platform.startswith("linux"):
        return tag.startswith(("manylinux", "linux_")) and tag.endswith(arch)  # glibc, not musllinux
    if sys.platform == "win32":
        return tag == ("win_amd64" if arch == "x86_64" else f"win_{machine}")
    if sys.platform == "darwin":
        return tag.startswith("macosx") and (tag.endswith("universal2") or tag.endswith(
            "arm64" if machine == "arm64" else "x86_64"))
    return False


def _python_fits(python_tag: str, abi_tag: str) -> bool:
    here = f"cp{sys.version_info.major}{sys.version_info.minor}"
    tags = python_tag.split(".")
    if "py3" in tags or here in tags:
        return True
    # abi3 wheels built for an older CPython 3 load on newer ones.
    return abi_tag == "abi3" and any(t.startswith("cp3") and int(t[3:]) <= sys.version_info.minor for t in tags)


def fits(wheel_name: str) -> bool:
    """Whether a wheel file (``name-version[-build]-python-abi-platform.whl``) runs here."""
    parts = wheel_name[:-len(".whl")].split("-")
    if len(parts) < 5:
        return False
    python_tag, abi_tag, platform_tags = parts[-3:]
    return _python_fits(python_tag, abi_tag) and any(_platform_fits(t) for t in platform_tags.split("."))


def ensure_importable() -> None:
    """Put the bundled wheels on ``sys.path`` unless azrender is already importable."""
    try:
        import azrender  # noqa: F401  (installed by Blender 4.2+, or for the studio's Python)
        return
    except ImportError:
        pass
    if not os.path.isdir(WHEELS):
        raise ImportError("azrender is not importable and this add-on carries no wheels: install the zip "
                          "built by 'azrender build-plugins', or pip-install azrender into Blender's Python")
    names = sorted(n for n in os.listdir(WHEELS) if n.endswith(".whl") and fits(n))
    vendor = VENDOR if os.access(HERE, os.W_OK) else _user_vendor()  # a studio's read-only install
    _unpack(names, vendor)
    if vendor not in sys.path:
        sys.path.insert(0, vendor)


def _user_vendor() -> str:
    import bpy

    return bpy.utils.user_resource("SCRIPTS", path=os.path.join("azrender", "_vendor"), create=True)


def _unpack(names: list[str], vendor: str) -> None:
    marker = os.path.join(vendor, ".unpacked")  # which wheels are unpacked there: redo when they change
    unpacked = None
    if os.path.exists(marker):
        with open(marker) as f:
            unpacked = f.read().split()
    if unpacked == names:
        return
    for name in names:
        with zipfile.ZipFile(os.path.join(WHEELS, name)) as wheel:
            wheel.extractall(vendor)
    with open(marker, "w") as f:
        f.write("\n".join(names))
