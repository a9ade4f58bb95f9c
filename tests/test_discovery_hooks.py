"""Discovery extension points: a plugin's scanner, extra and modified dependencies, and unknown or
unreadable files."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from azrender import plugins
from azrender.discovery.model import Dependency, Kind
from azrender.discovery.resolve import RawReference
from azrender.discovery.scan import Reading, Scanner, scan_scene
from azrender.errors import SceneError


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


class HoudiniLikeScanner:
    """A studio plugin reading a toy format: one path per line."""

    @plugins.hookimpl
    def azrender_scanners(self):
        def scan(path, context):
            lines = Path(path).read_text().splitlines()
            return Reading(tuple(RawReference(line, Kind.CACHE, f"line {n}", path) for n, line in enumerate(lines, 1)))

        return [Scanner(name="toy", extensions=(".toy",), scan=scan)]


def test_plugin_scanner_reads_a_new_format_and_nested_maya_scenes_are_followed(tmp_path):
    touch(tmp_path / "sim.bgeo")
    touch(tmp_path / "tex.png")
    (tmp_path / "shot.ma").write_text('//Maya ASCII 2023 scene\ncreateNode file -n "f";\n'
                                      ' setAttr ".ftn" -type "string" "tex.png";\n')
    (tmp_path / "scene.toy").write_text("sim.bgeo\nshot.ma\nmissing.vdb\n")
    pm = plugins.new_plugin_manager(load_entry_points=False, plugins=[HoudiniLikeScanner()])
    report = scan_scene(tmp_path / "scene.toy", plugin_manager=pm)
    assert [(Path(d.path).name, d.exists) for d in report.dependencies] == [
        ("sim.bgeo", True), ("shot.ma", True), ("missing.vdb", False), ("tex.png", True)]


def test_plugin_scanner_replaces_the_builtin_one_for_its_extension(tmp_path):
    class Override:
        @plugins.hookimpl
        def azrender_scanners(self):
            return [Scanner("mine", (".ma",), lambda path, context: Reading((), ("read by mine",)))]

    scene = tmp_path / "x.ma"
    scene.write_text("not maya at all")
    pm = plugins.new_plugin_manager(load_entry_points=False, plugins=[Override()])
    assert scan_scene(scene, plugin_manager=pm).warnings == ["read by mine"]


def test_add_and_modify_hooks_change_the_report(tmp_path):
    touch(tmp_path / "tex.png")
    touch(tmp_path / "ocio" / "config.ocio")
    scene = tmp_path / "s.ma"
    scene.write_text('//Maya ASCII 2023 scene\ncreateNode file -n "f";\n setAttr ".ftn" -type "string" "tex.png";\n'
                     'createNode file -n "g";\n setAttr ".ftn" -type "string" "scratch/tmp.png";\n')

    class Studio:
        @plugins.hookimpl
        def azrender_add_dependencies(self, scene, report):
            assert [Path(d.path).name for d in report.dependencies] == ["tex.png", "tmp.png"]
            return [str(tmp_path / "ocio" / "config.ocio"), Dependency("/licenses/node.lic", False, Kind.OTHER, "studio")]

        @plugins.hookimpl
        def azrender_modify_dependencies(self, scene, dependencies):
            dependencies[:] = [d for d in dependencies if "scratch" not in d.path]

    pm = plugins.new_plugin_manager(load_entry_points=False, plugins=[Studio()])
    report = scan_scene(scene, plugin_manager=pm)
    assert [(Path(d.path).name, d.exists) for d in report.dependencies] == [
        ("tex.png", True), ("config.ocio", True), ("node.lic", False)]
    assert report.missing == ["/licenses/node.lic"]


@pytest.mark.parametrize("make,problem", [
    (lambda p: p / "nothing.blend", "no such file"),
    (lambda p: (p / "folder.ma").mkdir() or p / "folder.ma", "is a folder"),
    (lambda p: touch(p / "notes.txt"), "unknown scene type '.txt'"),
    (lambda p: touch(p / "noext"), "unknown scene type '(no extension)'"),
])
def test_unusable_scene_paths(tmp_path, run_cli, make, problem):
    path = make(tmp_path)
    with pytest.raises(SceneError, match=re.escape(problem)):
        scan_scene(path, plugin_manager=plugins.new_plugin_manager(load_entry_points=False))
    proc = run_cli("deps", path)
    assert proc.returncode == 2 and problem in proc.stderr and proc.stderr.count("\n") == 1


def test_a_fifo_named_like_a_scene_is_refused_without_hanging(tmp_path, run_cli):
    fifo = tmp_path / "pipe.ma"
    os.mkfifo(fifo)
    proc = run_cli("deps", fifo, timeout=30)
    assert proc.returncode == 2 and "not a regular file" in proc.stderr


def test_bad_search_path_is_a_usage_error(tmp_path, run_cli):
    scene = touch(tmp_path / "s.ma", b"//Maya ASCII 2023 scene\n")
    proc = run_cli("deps", scene, "--search-path", tmp_path / "nope")
    assert proc.returncode == 2 and "not a folder" in proc.stderr


def test_the_builtin_readers_are_a_plugin_like_any_other(tmp_path):
    scene = touch(tmp_path / "shot.ma", b"//Maya ASCII 2023 scene\n")
    pm = plugins.new_plugin_manager(load_entry_points=False)
    assert ("azrender.discovery.builtin", "builtin") in [(p.name, p.origin) for p in plugins.describe_plugins(pm)]
    assert scan_scene(scene, plugin_manager=pm).dependencies == []
    pm.unregister(name="azrender.discovery.builtin")
    with pytest.raises(SceneError, match=r"unknown scene type '\.ma' \(known: \)"):
        scan_scene(scene, plugin_manager=pm)
