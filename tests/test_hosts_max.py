"""The 3ds Max package against the pymxs stand-in (tests/standins), which answers from real .max
files read by the core: 3ds Max itself cannot be installed here."""

from __future__ import annotations

import json
import shutil
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
    ({"rendTimeType": 4, "rendPickupFrames": "1,3,5-12", "rendNThFrame": 4}, "1,3,5-12"),  # Nth: segment/range only
    ({"rendTimeType": 3, "rendStart": 1, "rendEnd": 24, "rendNThFrame": 5}, "1-24x5"),
    ({"rendTimeType": 1, "sliderTime": 37, "rendNThFrame": 5}, "37"),
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
    # 3ds Max numbers the element's file as the main one: 4-digit frame before the extension
    assert render["expected_outputs"] == {f"frames-00{n}": [f"house_00{n}.exr", f"house__Reflection00{n}.exr"]
                                          for n in (10, 11, 12)}
    line = result.dry_run_requests["tasks"][0]["commandLine"]
    assert "-outputName:%AZ_BATCH_TASK_WORKING_DIR%\\out\\house_.exr" in line and "frame_." not in line
    assert "-start:10 -end:10 -nthFrame:1 " in line  # the scene's Every Nth Frame cannot thin a chunk
    assert line.rstrip('"').endswith("outputs.json frames-0010")  # verified after 3dsmaxcmd exits


def dry_run(pymxs, tmp_path, monkeypatch, **render):
    """Submit MiniHouse with ``render`` as Render Setup holds it (dry run): (plan JSON, the job's
    pre-render script as uploaded)."""
    monkeypatch.setenv("AZRENDER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AZRENDER_CONFIG_DIR", str(tmp_path / "config"))
    pymxs.open_scene(str(SHARED_SCENES / "max_minihouse/MiniHouse.max"))
    pymxs.runtime.set_render(**render)
    import azrender_max

    result = azrender_max.submit(backend="batch", node_os="windows", pool_id="max-windows", dry_run=True)
    script = tmp_path / "state" / "submissions" / result.job_id / "retarget.ms"
    assert script.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 that 3ds Max reads as such
    return result.dry_run_requests, script.read_text(encoding="utf-8-sig")


# Render Setup of a shot with render elements, written by hand: where 3ds Max would write each.
ELEMENTS = {**HOUSE_RENDER, "rendStart": 1, "rendEnd": 1, "elements": [
    ("Reflection", "C:\\renders\\house\\house__Reflection.exr"),
    ("ZDepth", "C:\\renders\\house\\passes\\depth\\house_Z.tif"),  # below the main output's folder
    ("Specular", "D:\\elsewhere\\spec.png"),  # elsewhere: comes back by its name
    ("Shadow", "C:\\renders\\house\\shadow.exr", False),  # disabled in the element list: not written
    ("Alpha", ""),  # no file: 3ds Max saves nothing for it
    ("Spec again", "E:\\other\\spec.png"),  # same name as another: its own folder, nothing overwritten
]}


def test_every_saved_render_element_is_redirected_under_the_task_output_and_expected(pymxs, tmp_path, monkeypatch):
    requests, script = dry_run(pymxs, tmp_path, monkeypatch, **ELEMENTS)
    assert requests["render"]["expected_outputs"] == {"frames-0001": [
        "house_0001.exr", "house__Reflection0001.exr", "passes/depth/house_Z0001.tif", "spec0001.png",
        "Spec again_5/spec0001.png"]}
    out = r'((systemTools.getEnvVariable "AZ_BATCH_TASK_WORKING_DIR") + "\\out")'  # read on the node
    for index, relative in ((0, r"\\house__Reflection.exr"), (1, r"\\passes\\depth\\house_Z.tif"), (2, r"\\spec.png"),
                            (5, r"\\Spec again_5\\spec.png")):
        assert f're.SetRenderElementFilename {index} ({out} + "{relative}")' in script
    assert "SetRenderElementFilename 3 " not in script and "SetRenderElementFilename 4 " not in script
    assert rf'makeDir ({out} + "\\passes\\depth") all:true' in script  # 3dsmaxcmd makes no folder
    assert script.index("ATSOps.RetargetSelection") < script.index("SetRenderElementFilename")  # one script, both parts


@pytest.mark.parametrize("render", [{"elements_active": False}, {"rendSaveFile": False}])
def test_elements_are_not_expected_when_render_setup_saves_none(pymxs, tmp_path, monkeypatch, render):
    requests, script = dry_run(pymxs, tmp_path, monkeypatch, **{**ELEMENTS, **render})
    main = "house_0001.exr" if render.get("rendSaveFile", True) else "frame_0001.png"
    assert requests["render"]["expected_outputs"] == {"frames-0001": [main]}
    assert "SetRenderElementFilename" not in script


def test_element_paths_with_spaces_unicode_and_quotes_survive_the_maxscript_quoting(pymxs, tmp_path, monkeypatch):
    name = "C:\\renders\\house\\Pässe 1\\it's \"raw\" $HOME %PATH%.exr"
    requests, script = dry_run(pymxs, tmp_path, monkeypatch, **{**ELEMENTS, "elements": [("Raw", name)]})
    assert requests["render"]["expected_outputs"]["frames-0001"][1] == "Pässe 1/it's \"raw\" $HOME %PATH%0001.exr"
    # the artist's part is one literal: backslash and double quote escaped, '$' and '%' kept as typed
    assert r'''+ "\\Pässe 1\\it's \"raw\" $HOME %PATH%.exr")''' in script


def test_the_plan_renders_the_frames_3dsmax_would_one_chunk_of_consecutive_frames_each(pymxs, tmp_path, monkeypatch):
    requests, _ = dry_run(pymxs, tmp_path, monkeypatch, **{**HOUSE_RENDER, "rendTimeType": 2, "animation": (10, 31),
                                                            "rendNThFrame": 10, "elements": []})
    lines = {t["id"]: t["commandLine"] for t in requests["tasks"]}
    assert sorted(lines) == ["frames-0010", "frames-0020", "frames-0030"]  # every 10th of the active segment
    assert "-start:20 -end:20 -nthFrame:1 " in lines["frames-0020"]


def test_a_path_no_maxscript_string_can_hold_is_refused_in_one_line(pymxs, tmp_path, monkeypatch):
    from azrender.errors import UsageError

    with pytest.raises(UsageError, match="cannot write .* into a 3ds Max script: it contains a control character"):
        dry_run(pymxs, tmp_path, monkeypatch, **{**ELEMENTS, "elements": [("Bad", "C:\\renders\\house\\a\tb.exr")]})


# A shot with render elements as the artist set it up, by hand: both stand-ins (pymxs in the
# dialog, 3dsmaxcmd on the node) answer from it.
SHOT = {"rendTimeType": 4, "rendPickupFrames": "1,3", "rendOutputFilename": "C:\\renders\\house\\house_.exr",
        "rendSaveFile": True, "elements": [
            ("Reflection", "C:\\renders\\house\\house__Reflection.exr"),
            ("ZDepth", "C:\\renders\\house\\passes\\Tiefe ü\\it's z.exr"),
            ("Shadow", "C:\\renders\\house\\shadow.exr", False)]}


@pytest.mark.slow
def test_a_render_element_3dsmax_did_not_write_fails_its_task_naming_the_file(pymxs, tmp_path, monkeypatch):
    """Submitted headless (``3dsmaxbatch submit.py``) on this machine: the stand-in 3dsmaxcmd
    writes the frames and the Reflection element but silently no ZDepth file."""
    from max_standin import stand_in_3dsmaxcmd

    for name in ("STATE", "CONFIG"):
        monkeypatch.setenv(f"AZRENDER_{name}_DIR", str(tmp_path / name.lower()))
    monkeypatch.setenv("AZRENDER_3DSMAXCMD", str(stand_in_3dsmaxcmd(tmp_path / "bin", SHOT, "--skip", "ZDepth")))
    scene = tmp_path / "MiniHouse" / "MiniHouse.max"
    shutil.copytree(SHARED_SCENES / "max_minihouse", scene.parent)
    pymxs.open_scene(str(scene))
    pymxs.runtime.set_render(**SHOT)
    import azrender_max

    result = azrender_max.submit(backend="local", chunk=2, wait=True, download_dir=tmp_path / "renders")
    assert sorted(t.id for t in result.failed_tasks) == ["frames-0001", "frames-0003"]  # pick-up frames 1 and 3
    failed = {t.id: t.stderr_tail for t in result.failed_tasks}
    assert ("task frames-0003 did not write 1 of its 3 expected file(s): passes/Tiefe ü/it's z0003.exr"
            in failed["frames-0003"]), failed["frames-0003"]
    assert not list((tmp_path / "renders").rglob("*.exr"))  # a failed task's files are not outputs


@pytest.mark.slow
def test_frames_asked_for_render_even_when_the_scene_renders_every_nth_frame(pymxs, tmp_path, monkeypatch):
    """The artist types frames 1-2 in the dialog of a scene set to every 5th frame: 3dsmaxcmd's
    stand-in, like 3ds Max, would thin -start:1 -end:2 to frame 1 unless told -nthFrame:1."""
    from max_standin import stand_in_3dsmaxcmd

    render = {**SHOT, "rendTimeType": 3, "rendStart": 1, "rendEnd": 10, "rendNThFrame": 5, "elements": []}
    for name in ("STATE", "CONFIG"):
        monkeypatch.setenv(f"AZRENDER_{name}_DIR", str(tmp_path / name.lower()))
    monkeypatch.setenv("AZRENDER_3DSMAXCMD", str(stand_in_3dsmaxcmd(tmp_path / "bin", render)))
    scene = tmp_path / "MiniHouse" / "MiniHouse.max"
    shutil.copytree(SHARED_SCENES / "max_minihouse", scene.parent)
    pymxs.open_scene(str(scene))
    pymxs.runtime.set_render(**render)
    import azrender_max

    result = azrender_max.submit(backend="local", frames="1-2", chunk=2, wait=True, download_dir=tmp_path / "renders")
    assert not result.failed_tasks, [t.stderr_tail for t in result.failed_tasks]
    assert sorted(p.name for p in (tmp_path / "renders").rglob("*.exr")) == ["house_0001.exr", "house_0002.exr"]
