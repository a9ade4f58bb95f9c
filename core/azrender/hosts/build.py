"""The installable host plugins, built from the repository: plan (no I/O but reading the sources),
then act.

- Blender: ``azrender_blender-<version>.zip``, one zip that installs both ways: as a Blender
  4.2+ extension (``blender_manifest.toml`` listing the bundled wheels, which Blender installs) and
  as a legacy add-on in Blender 3.x (the add-on unpacks the wheels that fit on first use).
- Maya: the module folder ``maya/azrender/`` (``azrender.mod`` with one section per platform, each
  with its own ``lib/<platform>`` of dependencies for ``mayapy``) to put on ``MAYA_MODULE_PATH``.
- 3ds Max: the package folder ``3dsmax/azrender.bundle/`` (``PackageContents.xml``) with its
  dependencies in ``Contents/python/lib``, for ``ApplicationPlugins``.

Wheels: azrender's own (built from this checkout) plus its dependencies for each target platform
and Python version, fetched with ``pip download --only-binary=:all:`` (so a package index or a
wheelhouse in pip's config is needed; ``--no-wheels`` builds artifacts that expect azrender to be
installed in the host's Python instead).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from azrender.errors import UsageError

REPO = Path(__file__).resolve().parents[3]
PLUGINS = REPO / "plugins"


@dataclass(frozen=True)
class Platform:
    name: str  # Blender's extension platform name
    pip_tags: tuple[str, ...]  # pip download --platform values (any of them may match)
    maya: str  # Maya .mod PLATFORM value


PLATFORMS = {
    p.name: p for p in (
        Platform("linux-x64", ("manylinux_2_28_x86_64", "manylinux2014_x86_64", "manylinux_2_17_x86_64",
                               "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"), "linux"),
        Platform("windows-x64", ("win_amd64",), "win64"),
        Platform("macos-arm64", ("macosx_11_0_arm64", "macosx_12_0_arm64", "macosx_10_9_universal2"), "mac"),
        Platform("macos-x64", ("macosx_10_9_x86_64", "macosx_10_12_x86_64", "macosx_10_9_universal2"), "mac"),
    )
}
MAX_PLATFORM = "windows-x64"  # 3ds Max runs on Windows only


def this_platform() -> str:
    import platform

    machine = platform.machine().lower()
    if sys.platform == "win32":
        return "windows-x64"
    if sys.platform == "darwin":
        return "macos-arm64" if machine == "arm64" else "macos-x64"
    return "linux-x64"


@dataclass(frozen=True)
class BuildPlan:
    dest: Path
    version: str
    python_version: str
    platforms: tuple[str, ...]  # for the Blender zip and the Maya module
    wheels: bool

    @property
    def wheel_platforms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.platforms, MAX_PLATFORM))) if self.wheels else ()

    @property
    def blender_zip(self) -> Path:
        return self.dest / f"azrender_blender-{self.version}.zip"

    @property
    def maya_module(self) -> Path:
        return self.dest / "maya" / "azrender"

    @property
    def max_package(self) -> Path:
        return self.dest / "3dsmax" / "azrender.bundle"

    def describe(self) -> list[str]:
        lines = [f"Blender: {self.blender_zip}", f"Maya:    {self.maya_module} (+ {self.maya_module.parent}/azrender.mod)",
                 f"3ds Max: {self.max_package}"]
        if self.wheels:
            lines.append(f"wheels:  azrender {self.version} and its dependencies for Python {self.python_version} "
                         f"on {', '.join(self.wheel_platforms)}")
        else:
            lines.append("wheels:  none (azrender must be installed in each host's Python)")
        return lines


def _project() -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def plan(dest: str | os.PathLike, *, platforms=(), python_version: str = "3.11", wheels: bool = True) -> BuildPlan:
    if not (PLUGINS.is_dir() and (REPO / "pyproject.toml").is_file()):
        raise UsageError(f"build-plugins needs the azrender source checkout ({PLUGINS} not found)",
                         hint="run it from a clone of the repository: .venv/bin/azrender build-plugins")
    unknown = [p for p in platforms if p not in PLATFORMS]
    if unknown:
        raise UsageError(f"unknown platform {unknown[0]!r}", hint=f"use one of {', '.join(PLATFORMS)}")
    if not re.fullmatch(r"3\.\d+", python_version):
        raise UsageError(f"invalid Python version {python_version!r}", hint="e.g. 3.11")
    return BuildPlan(dest=Path(dest).resolve(), version=_project()["version"], python_version=python_version,
                     platforms=tuple(dict.fromkeys(platforms or (this_platform(),))), wheels=wheels)


# ---- act ---------------------------------------------------------------------------------------


def _pip(*args: str, cwd: Path | None = None) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check"],
                          capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        raise UsageError(f"pip {args[0]} failed:\n  " + "\n  ".join(pip_error(proc.stdout + "\n" + proc.stderr)),
                         hint="check network access to the package index, or build with --no-wheels")


def pip_error(output: str, keep: int = 12) -> list[str]:
    """The lines of pip's output that say why it failed: its ``ERROR:`` lines and what a failing
    build printed before them, without pip's "see above" pointers (there is no "above" here)."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    useful = [line for line in lines if "See above for" not in line and "ignored: it is neither" not in line
              and not line.lstrip().startswith("WARNING: Location")]
    return useful[-keep:] or ["(pip printed nothing)"]


def _fetch_wheels(build: BuildPlan, work: Path) -> dict[str, list[Path]]:
    """{platform: wheel files}: azrender's own wheel (built once) plus its dependencies."""
    # Build from a clean copy: setuptools' build/ folder in a checkout keeps files since deleted.
    source, own = work / "source", work / "own"
    for name in ("pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "core", source / "core", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    # Build isolation: pip fetches the build backend itself, so a plain install (no dev extra) builds.
    _pip("wheel", "--no-deps", "-q", "-w", str(own), str(source), cwd=work)
    result = {}
    for name in build.wheel_platforms:
        folder = work / name
        tags = [arg for tag in PLATFORMS[name].pip_tags for arg in ("--platform", tag)]
        download = ("download", "-q", "--only-binary=:all:", "--python-version", build.python_version, *tags)
        _pip(*download, "-d", str(folder), *requirements_for(PLATFORMS[name], build.python_version), cwd=work)
        result[name] = sorted(own.glob("*.whl")) + sorted(folder.glob("*.whl"))
        if name in build.platforms:  # the Blender add-on (GPL) also reads and rewrites .blend files
            _pip(*download, "-d", str(folder / "blend"),
                 *requirements_for(PLATFORMS[name], build.python_version, extra="blend"), cwd=work)
            result[f"{name}+blend"] = sorted((folder / "blend").glob("*.whl"))
    return result


def requirements_for(platform: Platform, python_version: str, extra: str | None = None) -> list[str]:
    """azrender's requirements whose markers hold on the target: pip evaluates markers against the
    Python running it, not against ``--python-version``/``--platform`` (so ``tomli; python_version
    < '3.11'`` would be left out of a build for Python 3.10). The markers of the dependencies' own
    requirements are still judged by pip that way; none of today's needs it."""
    from packaging.requirements import Requirement

    system = {"linux": ("linux", "Linux"), "win64": ("win32", "Windows"), "mac": ("darwin", "Darwin")}[platform.maya]
    target = {"python_version": python_version, "python_full_version": f"{python_version}.0",
              "sys_platform": system[0], "platform_system": system[1], "os_name": "nt" if system[0] == "win32" else "posix",
              "implementation_name": "cpython", "platform_python_implementation": "CPython"}
    found = []
    project = _project()
    for text in project["optional-dependencies"][extra] if extra else project["dependencies"]:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(target):
            requirement.marker = None
            found.append(str(requirement))
    return found


def _unpack(wheels: list[Path], target: Path) -> None:
    """Install wheels for another interpreter: a wheel is the zip of its import tree."""
    target.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(target)


def _copy_sources(source: Path, target: Path) -> None:
    shutil.copytree(source, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_vendor", "wheels"))


def _manifest(source: Path, wheel_names: list[str], platforms: tuple[str, ...]) -> str:
    """The manifest with the bundled wheels: ``platforms`` and ``wheels`` are top-level keys, so
    they go before the first table (after ``[permissions]`` TOML would put them inside it)."""
    text = source.read_text()
    if not wheel_names:
        return text
    keys = (f"platforms = {json.dumps(list(platforms))}\n"
            "wheels = [\n" + "".join(f'  "./wheels/{name}",\n' for name in wheel_names) + "]\n\n")
    table = re.search(r"^\[", text, re.MULTILINE)
    at = table.start() if table else len(text)
    return text[:at] + keys + text[at:]


def build_blender(build: BuildPlan, wheels: dict[str, list[Path]]) -> Path:
    source = PLUGINS / "blender" / "azrender_blender"
    # One copy of each wheel (pure-Python ones are fetched once per platform).
    chosen = list({w.name: w for p in build.platforms for key in (p, f"{p}+blend") for w in wheels.get(key, ())}.values())
    build.blender_zip.parent.mkdir(parents=True, exist_ok=True)
    top = source.name  # one top folder: Blender 3.x add-on zips need it, 4.2+ extensions find the manifest in it
    with zipfile.ZipFile(build.blender_zip, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            if path.is_dir() or "__pycache__" in relative.parts or relative.parts[0] in ("_vendor", "wheels"):
                continue
            if relative.name == "blender_manifest.toml":
                archive.writestr(f"{top}/{relative.as_posix()}",
                                 _manifest(path, [w.name for w in chosen], build.platforms))
            else:
                archive.write(path, f"{top}/{relative.as_posix()}")
        for wheel in chosen:
            archive.write(wheel, f"{top}/wheels/{wheel.name}")
    return build.blender_zip


def _mod_file(build: BuildPlan) -> str:
    sections = []
    for name in build.platforms if build.wheels else ("",):
        condition = f"PLATFORM:{PLATFORMS[name].maya} " if name else ""
        lib = f"PYTHONPATH +:= lib/{PLATFORMS[name].maya}\n" if name else ""
        sections.append(f"+ {condition}azrender {build.version} ./azrender\n"
                        f"PYTHONPATH +:= scripts\n{lib}MAYA_PLUG_IN_PATH +:= plug-ins\n")
    return "\n".join(sections)


def build_maya(build: BuildPlan, wheels: dict[str, list[Path]]) -> Path:
    module = build.maya_module
    shutil.rmtree(module, ignore_errors=True)
    _copy_sources(PLUGINS / "maya", module)
    (module / "azrender.mod").unlink()  # the .mod goes beside the module folder, on MAYA_MODULE_PATH
    (module.parent / "azrender.mod").write_text(_mod_file(build))
    for name in build.platforms:
        if name in wheels:
            _unpack(wheels[name], module / "lib" / PLATFORMS[name].maya)
    return module


def build_max(build: BuildPlan, wheels: dict[str, list[Path]]) -> Path:
    package = build.max_package
    shutil.rmtree(package, ignore_errors=True)
    _copy_sources(PLUGINS / "3dsmax", package)
    if MAX_PLATFORM in wheels:
        _unpack(wheels[MAX_PLATFORM], package / "Contents" / "python" / "lib")
    return package


def build(build_plan: BuildPlan, progress=None) -> list[Path]:
    """Write the three artifacts of ``build_plan``; returns their paths."""
    import tempfile

    report = progress or (lambda *args: None)
    build_plan.dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="azrender-build-") as tmp:
        wheels = {}
        if build_plan.wheels:
            report("build", 0, 4, "fetching wheels")
            wheels = _fetch_wheels(build_plan, Path(tmp))
        artifacts = []
        for done, step in enumerate((build_blender, build_maya, build_max), start=1):
            report("build", done, 4, step.__name__.removeprefix("build_"))
            artifacts.append(step(build_plan, wheels))
        report("build", 4, 4, "done")
    return artifacts
