"""The shared token grammar and resolver, on real folders: what a host plugin gets when it hands in
raw paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from azrender.discovery.model import Kind
from azrender.discovery.resolve import RawReference, ResolveContext, build_report


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"data")
    return path


def ref(scene: Path, path: str, host: str = "generic", **hints) -> RawReference:
    return RawReference(path, Kind.TEXTURE, "node.attr", str(scene), host, **hints)


def names(report) -> list[str]:
    return [Path(d.path).name for d in report.dependencies]


@pytest.mark.parametrize("written", [
    "shot.####.exr", "shot.%04d.exr", "shot.$F4.exr", "shot.<f4>.exr", "shot.<f>.exr", "shot.<frame>.exr",
    "shot.#.exr", "shot.%d.exr", "shot.$F.exr",
])
def test_every_frame_token_lists_the_frames_on_disk(tmp_path, written):
    for frame in (1, 2, 10, 1001):
        touch(tmp_path / f"shot.{frame:04d}.exr")
    touch(tmp_path / "shot.0001.exr.bak")
    touch(tmp_path / "shotX0001.exr")
    report = build_report(tmp_path / "s.ma", [ref(tmp_path / "s.ma", written)], ResolveContext(env={}))
    assert names(report) == ["shot.0001.exr", "shot.0002.exr", "shot.0010.exr", "shot.1001.exr"]
    assert {d.pattern for d in report.dependencies} == {str(tmp_path / written)}


@pytest.mark.parametrize("written,files", [
    ("skin.<UDIM>.tif", ["skin.1001.tif", "skin.1002.tif", "skin.1011.tif"]),
    ("skin.<udim>.tif", ["skin.1001.tif", "skin.1002.tif", "skin.1011.tif"]),
    ("skin_<UVTILE>.tif", ["skin_u1_v1.tif", "skin_u2_v1.tif"]),
])
def test_tile_tokens_list_the_tiles_on_disk(tmp_path, written, files):
    for name in [*files, "skin.tif", "skin.1001.tif.tx"]:
        touch(tmp_path / name)
    report = build_report(tmp_path / "s.ma", [ref(tmp_path / "s.ma", written)], ResolveContext(env={}))
    assert names(report) == files


def test_maya_first_tile_and_tiling_mode_expand_to_all_tiles(tmp_path):
    for tile in (1001, 1002, 1003):
        touch(tmp_path / f"UdimTest_{tile}_color.png")
    scene = tmp_path / "s.ma"
    report = build_report(scene, [ref(scene, "UdimTest_1001_color.png", "maya", tiles=3)], ResolveContext(env={}))
    assert names(report) == ["UdimTest_1001_color.png", "UdimTest_1002_color.png", "UdimTest_1003_color.png"]
    mudbox = build_report(scene, [ref(scene, "x_u1_v1.png", "maya", tiles=2)], ResolveContext(env={}))
    assert mudbox.missing == [str(tmp_path / "x_<UVTILE>.png")]


def test_a_literal_hash_in_an_existing_file_name_is_not_a_token(tmp_path):
    touch(tmp_path / "take #1.png")
    touch(tmp_path / "take 11.png")
    report = build_report(tmp_path / "s.blend", [ref(tmp_path / "s.blend", "//take #1.png", "blender")])
    assert names(report) == ["take #1.png"]


def test_a_pattern_with_no_file_is_one_missing_dependency(tmp_path):
    report = build_report(tmp_path / "s.ma", [ref(tmp_path / "s.ma", "render/beauty.####.exr")], ResolveContext(env={}))
    assert report.missing == [str(tmp_path / "render" / "beauty.####.exr")]
    assert report.dependencies[0].pattern == report.missing[0]


def test_environment_variables_in_all_three_spellings(tmp_path):
    touch(tmp_path / "assets" / "a.png")
    touch(tmp_path / "assets" / "b.png")
    touch(tmp_path / "assets" / "c.png")
    env = {"ASSETS": str(tmp_path / "assets")}
    scene = tmp_path / "s.ma"
    report = build_report(scene, [ref(scene, "$ASSETS/a.png"), ref(scene, "${ASSETS}/b.png"),
                                  ref(scene, "%ASSETS%\\c.png"), ref(scene, "$UNSET_VAR/d.png")],
                          ResolveContext(env=env))
    assert names(report)[:3] == ["a.png", "b.png", "c.png"]
    assert {d.resolved_by for d in report.dependencies[:3]} == {"env"}
    assert report.missing == [str(tmp_path / "$UNSET_VAR" / "d.png")]
    assert any("UNSET_VAR is not defined" in w for w in report.warnings)


def test_blender_relative_paths_with_backslashes(tmp_path):
    touch(tmp_path / "tex" / "wood.png")
    scene = tmp_path / "shots" / "s.blend"
    report = build_report(scene, [ref(scene, "//..\\tex\\wood.png", "blender")])
    assert report.dependencies[0].path == str(tmp_path / "tex" / "wood.png")
    assert report.dependencies[0].resolved_by == "blend-relative"


def test_windows_path_on_linux_is_found_beside_the_scene_for_maya_only(tmp_path):
    touch(tmp_path / "logo.png")
    scene = tmp_path / "s.ma"
    written = "D:\\projects\\show\\logo.png"
    maya = build_report(scene, [ref(scene, written, "maya")])
    assert (maya.dependencies[0].path, maya.dependencies[0].resolved_by) == (str(tmp_path / "logo.png"), "beside-scene")
    blender = build_report(tmp_path / "s.blend", [ref(tmp_path / "s.blend", written, "blender")])
    assert blender.missing == [written]  # reported as written: it cannot be made absolute here


def test_maya_project_root_comes_first_then_the_scene_folder(tmp_path):
    touch(tmp_path / "workspace.mel")
    touch(tmp_path / "sourceimages" / "grid.png")
    touch(tmp_path / "scenes" / "sourceimages" / "grid.png")  # a decoy beside the scene
    touch(tmp_path / "scenes" / "only_here.png")
    scene = tmp_path / "scenes" / "s.ma"
    report = build_report(scene, [ref(scene, "sourceimages/grid.png", "maya"), ref(scene, "only_here.png", "maya")])
    assert [(d.path, d.resolved_by) for d in report.dependencies] == [
        (str(tmp_path / "sourceimages" / "grid.png"), "project-relative"),
        (str(tmp_path / "scenes" / "only_here.png"), "scene-relative"),
    ]


def test_search_paths_by_relative_path_then_by_name(tmp_path):
    library = tmp_path / "library"
    touch(library / "maps" / "a.png")
    touch(library / "b.png")
    scene = tmp_path / "shot" / "s.ma"
    context = ResolveContext(search_paths=(str(library),), env={})
    report = build_report(scene, [ref(scene, "maps/a.png"), ref(scene, "C:\\gone\\b.png")], context)
    assert [(d.path, d.resolved_by) for d in report.dependencies] == [
        (str(library / "maps" / "a.png"), "search-path"), (str(library / "b.png"), "search-path")]


def test_same_file_referenced_twice_is_listed_once_in_first_seen_order(tmp_path):
    touch(tmp_path / "a.png")
    touch(tmp_path / "b.png")
    scene = tmp_path / "s.ma"
    report = build_report(scene, [ref(scene, "b.png"), ref(scene, "a.png"), ref(scene, str(tmp_path / "b.png"))])
    assert names(report) == ["b.png", "a.png"]


def test_a_folder_is_expanded_only_for_cache_folders(tmp_path):
    touch(tmp_path / "cache" / "frame_1.bphys")
    touch(tmp_path / "cache" / "sub" / "frame_2.bphys")
    scene = tmp_path / "s.blend"
    plain = build_report(scene, [ref(scene, "//cache", "blender")])
    assert plain.missing == [str(tmp_path / "cache")]
    cache = build_report(scene, [ref(scene, "//cache/", "blender", sequence=True)])
    assert sorted(names(cache)) == ["frame_1.bphys", "frame_2.bphys"]
