"""The 3ds Max package against the pymxs stand-in (tests/standins), which answers from real .max
files read by the core: 3ds Max itself cannot be installed here."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET

import pytest

from conftest import REPO, SHARED_SCENES

PACKAGE = REPO / "plugins" / "3dsmax"
SCENES = ["max_dump/01-teapot_no_cams_vray.max", "max_dump/08-extended_header_length_alysson_claret.max",
          "max_dump/2017_many_cams_and_other_stuff.max", "max_dump/07-standard-17_physical_cameras.max",
          "max_minihouse/MiniHouse.max"]


@pytest.fixture
def pymxs(monkeypatch, tmp_path):
    for path in (REPO / "tests" / "standins", PACKAGE / "Contents" / "python"):
        monkeypatch.syspath_prepend(str(path))
    monkeypatch.setenv("AZRENDER_CACHE_DIR", str(tmp_path / "cache"))
    for name in [m for m in sys.modules if m.split(".")[0] in ("pymxs", "azrender_max")]:
        monkeypatch.delitem(sys.modules, name)
    import pymxs

    return pymxs


@pytest.mark.parametrize("scene", SCENES)
def test_the_plugin_collects_what_azrender_deps_finds(pymxs, run_cli, scene):
    pymxs.open_scene(str(SHARED_SCENES / scene))
    from azrender_max import submission

    collected = sorted([d.path, d.kind.value, d.exists] for d in submission.scene_report().dependencies)
    proc = run_cli("deps", SHARED_SCENES / scene, "--json")
    assert proc.returncode in (0, 3), proc.stderr
    assert collected == sorted([d["path"], d["kind"], d["exists"]] for d in json.loads(proc.stdout)["dependencies"])


def test_material_names_and_render_outputs_are_not_dependencies(pymxs):
    pymxs.open_scene(str(SHARED_SCENES / "max_dump/08-extended_header_length_alysson_claret.max"))
    manager = pymxs.runtime.AssetManager
    manager.assets.append(pymxs.AssetUser("{out}", "RenderOutput", "C:\\renders\\shot_.exr", ""))
    pymxs.runtime.ATSOps.files.append("C:\\renders\\shot_.exr")
    from azrender_max import collect

    paths = [ref.path for ref in collect.raw_references()]
    assert len(paths) == 4 and all("\\" in p for p in paths)  # 6 Bitmap assets, 2 of them material names
    assert "C:\\renders\\shot_.exr" not in paths


def test_a_file_only_the_asset_tracker_knows_is_still_collected(pymxs):
    pymxs.open_scene(str(SHARED_SCENES / "max_dump/2017_many_cams_and_other_stuff.max"))
    pymxs.runtime.ATSOps.files.append("E:\\projects\\ies\\spot.ies")
    from azrender_max import collect

    refs = {ref.path: ref for ref in collect.raw_references()}
    assert refs["E:\\projects\\ies\\spot.ies"].kind.value == "other"
    assert str(SHARED_SCENES / "max_dump/2017_many_cams_and_other_stuff.max") not in refs


def test_missing_maps_block_the_request_and_name_the_files(pymxs):
    pymxs.open_scene(str(SHARED_SCENES / "max_dump/01-teapot_no_cams_vray.max"))
    from azrender.errors import MissingAssetsError
    from azrender_max import submission

    with pytest.raises(MissingAssetsError, match="BARK5.jpg"):
        submission.build_request()


@pytest.mark.parametrize("settings,frames", [
    ({}, "0"),
    ({"rendTimeType": 2, "animation": (10, 50), "rendNThFrame": 5}, "10-50x5"),
    ({"rendTimeType": 3, "rendStart": 1, "rendEnd": 24}, "1-24"),
    ({"rendTimeType": 4, "rendPickupFrames": "1,3,5-12"}, "1,3,5-12"),
])
def test_the_request_renders_the_frames_render_setup_would(pymxs, settings, frames):
    scene = SHARED_SCENES / "max_minihouse/MiniHouse.max"
    pymxs.open_scene(str(scene))
    pymxs.runtime.set_render(**settings)
    from azrender_max import submission

    request = submission.build_request().request
    assert request.frames == frames and request.host == "max"
    assert request.renderer == "Default_Scanline_Renderer"
    assert request.scene == scene  # the saved file; the path-mapping stage copies it for the nodes


def test_unsaved_changes_are_refused_rather_than_silently_left_out(pymxs):
    pymxs.open_scene(str(SHARED_SCENES / "max_minihouse/MiniHouse.max"), modified=True)
    from azrender.errors import SceneError
    from azrender_max import submission

    with pytest.raises(SceneError, match="MiniHouse.max has unsaved changes"):
        submission.build_request()


def test_the_progress_bar_follows_the_background_submission(pymxs):
    from azrender.hosts.background import Snapshot
    from azrender_max import submission

    bar = submission.progress_bar()
    bar.tick(Snapshot(stage="sync", done=1, total=4, message="BARK5.jpg"))
    bar.tick(Snapshot(stage="submit", done=1, total=1, message="job"))
    bar.tick(Snapshot(finished=True, result="job"))
    assert pymxs.CALLS == [
        ("progressStart", ("azrender sync 25% BARK5.jpg",)), ("progressUpdate", (25,)),
        ("progressUpdate", (100,)), ("replacePrompt", ("azrender submit 100% job",)),
        ("progressEnd", ()),
    ]


def test_the_package_declares_its_startup_script_and_the_menu_macro():
    root = ET.parse(PACKAGE / "PackageContents.xml").getroot()
    assert root.get("AutodeskProduct") == "3ds Max" and root.get("UpgradeCode")
    entries = [e.get("ModuleName") for e in root.iter("ComponentEntry")]
    assert entries and all((PACKAGE / e).exists() for e in entries)
    startup = (PACKAGE / entries[0]).read_text()
    assert 'macroScript Render_on_Azure category:"azrender"' in startup
    assert "azrender_max.dialog" in startup


def test_headless_submit_builds_3dsmaxcmdio_tasks_for_windows_nodes(pymxs, monkeypatch, tmp_path):
    monkeypatch.setenv("AZRENDER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AZRENDER_CONFIG_DIR", str(tmp_path / "config"))
    pymxs.open_scene(str(SHARED_SCENES / "max_minihouse/MiniHouse.max"))
    pymxs.runtime.set_render(rendTimeType=3, rendStart=1, rendEnd=3)
    import azrender_max

    result = azrender_max.submit(backend="batch", node_os="windows", pool_id="max-windows", dry_run=True)
    lines = [t["commandLine"] for t in result.dry_run_requests["tasks"]]
    assert len(lines) == 3
    assert all(line.startswith("cmd /c") and "3dsmaxcmdio.exe" in line and "MiniHouse.max" in line for line in lines)


# Render Setup as an artist left it, written down by hand (the stand-in only answers it back).
HOUSE_RENDER = {"rendTimeType": 3, "rendStart": 10, "rendEnd": 12, "rendOutputFilename": "C:\\renders\\house\\house_.exr",
                "rendSaveFile": True, "renderWidth": 1920, "renderHeight": 1080, "camera": "Camera001",
                "elements": [("Reflection", "C:\\renders\\house\\house__Reflection.exr")]}


def test_render_settings_come_from_render_setup_and_name_the_outputs(pymxs):
    pymxs.open_scene(str(SHARED_SCENES / "max_minihouse/MiniHouse.max"))
    pymxs.runtime.set_render(**HOUSE_RENDER)
    import azrender_max

    result = azrender_max.submit(backend="batch", node_os="windows", pool_id="max-windows", dry_run=True)
    render = result.dry_run_requests["render"]
    s = render["settings"]
    assert (s["output_path"], s["resolution"], s["cameras"]) == (HOUSE_RENDER["rendOutputFilename"], [1920, 1080],
                                                                 ["Camera001"])
    assert (s["frame_start"], s["frame_end"], s["image_format"]["extension"]) == (10, 12, "exr")
    assert [(e["name"], e["paths"]) for e in s["file_outputs"]] == [("Reflection", [HOUSE_RENDER["elements"][0][1]])]
    assert render["expected_outputs"] == {f"frames-00{n}": [f"house_00{n}.exr"] for n in (10, 11, 12)}
    line = result.dry_run_requests["tasks"][0]["commandLine"]
    assert "-outputName:%AZ_BATCH_TASK_WORKING_DIR%\\out\\house_.exr" in line and "frame_." not in line
    assert line.rstrip('"').endswith("outputs.json frames-0010")  # verified after 3dsmaxcmd exits
