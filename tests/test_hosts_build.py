"""azrender build-plugins: the Blender zip installs into real Blender with nothing else on its path,
the Maya module carries everything mayapy needs, the 3ds Max package carries Windows wheels."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from conftest import REPO, SHARED_SCENES, run_blender

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    from conftest import cli_env

    dest = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "azrender", "build-plugins", "--dest", str(dest)],
                          capture_output=True, text=True, env=cli_env(), timeout=600, cwd=dest)
    assert proc.returncode == 0, proc.stderr
    return dest


def test_the_blender_zip_installs_and_enables_in_real_blender_on_its_own(blender, dist, tmp_path):
    zip_path = dist / "azrender_blender-0.1.0.zip"
    with zipfile.ZipFile(zip_path) as archive:
        manifest = archive.read("azrender_blender/blender_manifest.toml").decode()
        names = archive.namelist()
    import tomllib

    parsed = tomllib.loads(manifest)  # the keys Blender reads are top-level, not inside [permissions]
    assert sorted(parsed["permissions"]) == ["files", "network"] and parsed["platforms"] == ["linux-x64"]
    listed = [w[len("./"):] for w in parsed["wheels"]]
    assert listed and sorted(f"azrender_blender/{w}" for w in listed) == sorted(n for n in names if n.endswith(".whl"))
    assert any(w.startswith("wheels/azrender-0.1.0-") for w in listed)

    script = f"""
import bpy, addon_utils, sys
bpy.ops.preferences.addon_install(filepath={str(zip_path)!r})
addon_utils.enable("azrender_blender", default_set=True, handle_error=None)
import azrender, pluggy, xxhash
print("AZRENDER", azrender.__file__)
print("OPERATOR", bpy.ops.azrender.submit.get_rna_type().name)
"""
    # No PYTHONPATH: Blender must find azrender and its dependencies in the zip alone.
    proc = run_blender(blender, "--python-expr", script,
                       env={"PYTHONPATH": "", "BLENDER_USER_SCRIPTS": str(tmp_path / "scripts")})
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if line.startswith(("AZRENDER ", "OPERATOR ")))
    assert lines.get("OPERATOR") == "Render on Azure…", proc.stdout[-2000:]
    assert lines["AZRENDER"].startswith(str(tmp_path / "scripts" / "addons" / "azrender_blender" / "_vendor"))


def test_the_maya_module_runs_from_its_own_folder(dist):
    mod = (dist / "maya" / "azrender.mod").read_text()
    assert mod.startswith("+ PLATFORM:linux azrender 0.1.0 ./azrender\n")
    assert "PYTHONPATH +:= lib/linux" in mod and "MAYA_PLUG_IN_PATH +:= plug-ins" in mod
    module = dist / "maya" / "azrender"
    assert (module / "plug-ins" / "azrenderForMaya.py").is_file()
    # A Python with no site-packages at all, like a bare mayapy: only the module's own folders.
    code = f"""
import sys
sys.path[:0] = [{str(module / 'scripts')!r}, {str(module / 'lib' / 'linux')!r}, {str(REPO / 'tests' / 'standins')!r}]
from maya import cmds
cmds.open_scene({str(SHARED_SCENES / 'mayausd_rel_project/scenes/TextureTest.ma')!r})
from azrender_maya import submission
import azrender
print(azrender.__file__)
print([d.path for d in submission.scene_report().dependencies])
"""
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    origin, deps = proc.stdout.splitlines()[-2:]
    assert origin.startswith(str(module / "lib" / "linux"))
    assert "sourceimages/grid.png" in deps


def test_the_3dsmax_package_carries_windows_wheels(dist):
    package = dist / "3dsmax" / "azrender.bundle"
    lib = package / "Contents" / "python" / "lib"
    assert (package / "PackageContents.xml").is_file()
    assert (lib / "azrender" / "discovery" / "max_assets.py").is_file()  # what the collector imports
    assert (package / "Contents" / "python" / "azrender_max" / "collect.py").is_file()
    assert list(lib.glob("xxhash/*win_amd64.pyd")), "xxhash's binary for 3ds Max's Windows Python"


def test_a_dry_run_says_what_it_would_build_and_builds_nothing(run_cli, tmp_path):
    proc = run_cli("build-plugins", "--dest", tmp_path / "out", "--platform", "windows-x64", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "azrender_blender-0.1.0.zip" in proc.stdout and "windows-x64" in proc.stdout
    assert not (tmp_path / "out").exists()


def test_an_unknown_platform_is_one_clear_line(run_cli, tmp_path):
    proc = run_cli("build-plugins", "--dest", tmp_path, "--platform", "amiga")
    assert proc.returncode == 2 and "amiga" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("python,needs_tomli", [("3.10", True), ("3.11", False)])
def test_dependencies_are_chosen_for_the_hosts_python_not_the_builders(python, needs_tomli):
    from azrender.hosts.build import PLATFORMS, requirements_for

    names = [r.split(">")[0].split("<")[0].split("=")[0] for r in requirements_for(PLATFORMS["windows-x64"], python)]
    assert ("tomli" in names) is needs_tomli  # azrender reads TOML with tomli before Python 3.11
    assert "pluggy" in names and "azure-batch" in names


def test_build_plugins_works_from_a_plain_install_and_shows_pips_own_error(tmp_path):
    """No dev extra (no wheel, no recent setuptools): the build still works; a failing pip is quoted."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    installed = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", str(REPO)],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr
    build = [python, "-m", "azrender", "build-plugins", "--dest", str(tmp_path / "dist")]
    proc = subprocess.run(build, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "dist" / "azrender_blender-0.1.0.zip").is_file()

    failed = subprocess.run([*build, "--python-version", "3.2"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert failed.returncode != 0
    assert "pip download failed" in failed.stderr and "ERROR: " in failed.stderr, failed.stderr
    assert "See above" not in failed.stderr
