"""The Maya plug-in against the maya.cmds stand-in (tests/standins), which answers from hand-written
tables of what Maya holds for each scene, never from the core's readers: Maya itself cannot be
installed here. What the plug-in collects is compared with ``azrender deps`` (the core's headless
reader) and with the asset lists real Maya produced."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys

import pytest

from conftest import REPO, SHARED_SCENES

SCENES = ["deadline_maya_cube/scene/cube.ma", "deadline_maya_referenced_layers/scene/referenced_layers.ma",
          "mayausd_rel_project/scenes/TextureTest.ma", "mayausd_udim/UsdExportUDIMTest.ma",
          "mayausd_stage/sceneWithStage.ma"]


@pytest.fixture
def maya(monkeypatch, tmp_path):
    """The stand-in maya package and the plug-in's scripts on sys.path, a fresh azrender cache."""
    for path in (REPO / "tests" / "standins", REPO / "plugins" / "maya" / "scripts"):
        monkeypatch.syspath_prepend(str(path))
    monkeypatch.setenv("AZRENDER_CACHE_DIR", str(tmp_path / "cache"))
    for name in [m for m in sys.modules if m.split(".")[0] in ("maya", "azrender_maya")]:
        monkeypatch.delitem(sys.modules, name)
    from maya import cmds

    return cmds


def deps_json(run_cli, scene) -> list:
    proc = run_cli("deps", scene, "--json")
    assert proc.returncode in (0, 3), proc.stderr
    return sorted([d["path"], d["kind"], d["exists"]] for d in json.loads(proc.stdout)["dependencies"])


@pytest.mark.parametrize("scene", SCENES)
def test_the_plugin_collects_what_azrender_deps_finds(maya, run_cli, scene):
    maya.open_scene(str(SHARED_SCENES / scene))
    from azrender_maya import submission

    report = submission.scene_report()
    collected = sorted([d.path, d.kind.value, d.exists] for d in report.dependencies)
    assert collected == deps_json(run_cli, SHARED_SCENES / scene)
    assert collected, "every one of these scenes uses at least one file"


def test_udim_tiles_and_project_relative_paths_are_expanded(maya):
    maya.open_scene(str(SHARED_SCENES / "mayausd_udim/UsdExportUDIMTest.ma"))
    from azrender_maya import submission

    names = sorted(d.path.rsplit("/", 1)[-1] for d in submission.scene_report().dependencies)
    assert names == ["UdimTest_1001_color.png", "UdimTest_1002_color.png", "UdimTest_1003_color.png"]


def test_a_studio_node_is_found_by_the_file_path_editor_then_typed_by_a_td_row(maya, tmp_path, monkeypatch):
    scene = tmp_path / "shot" / "cube.ma"
    shutil.copytree(SHARED_SCENES / "deadline_maya_cube" / "scene", scene.parent)
    (tmp_path / "shot" / "caches").mkdir()
    (tmp_path / "shot" / "caches" / "sim.abc").write_bytes(b"abc")
    studio_row = ("studioCache", "cachePath", "cache")
    # the studio's Maya plug-in is loaded and the scene has one of its nodes
    maya.open_scene(str(scene), plugin_nodes={"sim1": ("studioCache", {"cachePath": "caches/sim.abc"})},
                    file_attributes=[studio_row])
    from azrender_maya import submission

    found = {d.source: (d.kind.value, d.exists) for d in submission.scene_report().dependencies}
    assert found["sim1.cachePath"] == ("other", True)  # unknown to azrender: still collected

    monkeypatch.syspath_prepend(str(REPO / "examples" / "td_plugin"))
    import studio_azrender  # the example TD plugin adds the studioCache row

    from azrender import plugins

    monkeypatch.setattr(plugins, "get_plugin_manager", lambda: plugins.new_plugin_manager(
        load_entry_points=False, plugins=[studio_azrender]))
    found = {d.source: (d.kind.value, d.exists) for d in submission.scene_report().dependencies}
    assert found["sim1.cachePath"] == ("cache", True)


def test_a_missing_texture_blocks_the_request(maya, tmp_path):
    scene = tmp_path / "cube.ma"
    shutil.copy(SHARED_SCENES / "deadline_maya_cube" / "scene" / "cube.ma", scene)  # texture not beside it
    maya.open_scene(str(scene))
    from azrender.errors import MissingAssetsError
    from azrender_maya import submission

    with pytest.raises(MissingAssetsError) as error:
        submission.build_request()
    assert "deadline_logo_48x48.png" in str(error.value) and "scene_file_to_reference.mb" in str(error.value)


def test_the_request_carries_the_saved_scene_the_render_settings_and_the_collected_files(maya):
    scene = SHARED_SCENES / "mayausd_rel_project" / "scenes" / "TextureTest.ma"
    maya.open_scene(str(scene))
    from azrender_maya import submission

    request = submission.build_request(chunk=5).request
    assert request.host == "maya" and request.chunk == 5
    assert (request.frames, request.renderer) == ("0", None)  # the saved .ma's own (current time 0): the core reads them
    assert request.scene == scene  # the saved file; the path-mapping stage copies it for the nodes
    assert request.project == SHARED_SCENES / "mayausd_rel_project"
    assert [d.path for d in request.report.dependencies] == [str(SHARED_SCENES / "mayausd_rel_project/sourceimages/grid.png")]


def test_unsaved_changes_are_refused_rather_than_silently_left_out(maya):
    maya.open_scene(str(SHARED_SCENES / "mayausd_stage" / "sceneWithStage.ma"), modified=True)
    from azrender.errors import SceneError
    from azrender_maya import submission

    with pytest.raises(SceneError, match="unsaved changes"):
        submission.build_request()


def test_loading_the_plugin_adds_the_azure_menu_and_unloading_removes_it(maya):
    spec = importlib.util.spec_from_file_location(
        "azrenderForMaya", REPO / "plugins" / "maya" / "plug-ins" / "azrenderForMaya.py")
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    plugin.initializePlugin(None)
    menus = [c for c in maya.CALLS if c[0] == "menu"]
    items = [c for c in maya.CALLS if c[0] == "menuItem"]
    assert menus == [("menu", ("azrenderMenu",), {"label": "Azure", "parent": "MayaWindow", "tearOff": True})]
    assert [i[2]["label"] for i in items] == ["Render on Azure…"]
    assert "azrender_maya.dialog.show()" in items[0][2]["command"]
    plugin.uninitializePlugin(None)
    assert not maya.menu("azrenderMenu", exists=True)


def test_the_progress_window_follows_the_background_submission(maya):
    from azrender.hosts.background import Snapshot
    from azrender_maya import submission

    window = submission.progress_window()
    assert window.tick(Snapshot(stage="sync", done=0, total=4, message="wood.png")) is False
    assert window.tick(Snapshot(stage="sync", done=3, total=4, message="stone.png")) is False
    assert window.tick(Snapshot(finished=True, result="job")) is True
    calls = [flags for name, _, flags in maya.CALLS if name == "progressWindow"]
    assert calls == [
        {"title": "azrender", "progress": 0, "status": "azrender sync 0% wood.png", "isInterruptable": False},
        {"edit": True, "progress": 75, "status": "azrender sync 75% stone.png"},
        {"endProgress": True},
    ]


def test_headless_submit_builds_maya_render_tasks(maya, monkeypatch, tmp_path):
    monkeypatch.setenv("AZRENDER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AZRENDER_CONFIG_DIR", str(tmp_path / "config"))
    maya.open_scene(str(SHARED_SCENES / "mayausd_rel_project" / "scenes" / "TextureTest.ma"))
    import azrender_maya

    result = azrender_maya.submit(frames="1-4", chunk=2, backend="batch", pool_id="maya-linux", dry_run=True)
    lines = [t["commandLine"] for t in result.dry_run_requests["tasks"]]
    assert len(lines) == 2
    # the file's currentRenderer (`setAttr -k on ".ren" -type "string" "arnold"`)
    assert ["Render -r arnold -s 1 -e 2" in lines[0], "Render -r arnold -s 3 -e 4" in lines[1]] == [True, True]
    assert all("mayausd_rel_project/scenes/TextureTest" in line for line in lines)


@pytest.mark.parametrize("bundle, scene", [("deadline_maya_cube", "cube.ma"),
                                           ("deadline_maya_referenced_layers", "referenced_layers.ma")])
def test_the_plugin_collects_what_real_maya_listed(maya, bundle, scene):
    listed = (SHARED_SCENES / bundle / "expected_job_bundle" / "asset_references.yaml").read_text()
    inputs = listed.split("inputs:", 1)[1].split("outputs:", 1)[0]
    expected = sorted(line.strip()[2:].rsplit("/", 1)[-1] for line in inputs.splitlines() if line.strip().startswith("- "))
    maya.open_scene(str(SHARED_SCENES / bundle / "scene" / scene))
    from azrender_maya import submission

    report = submission.scene_report()
    assert all(d.exists for d in report.dependencies)
    assert sorted([scene] + [d.path.rsplit("/", 1)[-1] for d in report.dependencies]) == expected


# ---- render settings collected in the app (Maya Binary: the core cannot read the file) ------------

FAKE_MAYA_RENDER = str(REPO / "tests" / "fake_maya_render")
SHOTS = {  # shots.mb (tests/standins/maya/scenes.py): prefix <RenderLayer>/<Camera>/<Scene>, frames 1-3 by 2
    f"rs_{layer}-shotCam{cam}-frames-{n:04d}": [f"{layer}/shotCam{cam}/shots.{n:04d}.exr"]
    for layer in ("beauty", "shadow") for cam in "AB" for n in (1, 3)}


def open_mb(maya, tmp_path, monkeypatch, name="shots.mb"):
    for var in ("STATE", "CONFIG"):
        monkeypatch.setenv(f"AZRENDER_{var}_DIR", str(tmp_path / var.lower()))
    scene = tmp_path / "shot" / name
    scene.parent.mkdir()
    scene.write_bytes(b"FOR8\x00\x00\x00\x00Maya4x binary (its settings come from the stand-in's table)")
    (scene.parent / "workspace.mel").write_text('workspace -fr "images" "renders";\n')
    (scene.parent / "set.ma").write_text("//Maya ASCII 2024 scene\n")  # the referenced set
    maya.open_scene(str(scene))
    return scene


def test_maya_binary_settings_are_what_real_maya_reported_for_the_deadline_cube(maya, tmp_path, monkeypatch):
    bundle = shutil.copytree(SHARED_SCENES / "deadline_maya_cube", tmp_path / "deadline_maya_cube")
    shutil.copy(bundle / "scene" / "cube.ma", bundle / "scene" / "cube.mb")  # bytes unused: the table answers
    maya.open_scene(str(bundle / "scene" / "cube.mb"))
    from azrender.rendersettings.maya import read_maya_settings
    from azrender.rendersettings.outputs import maya_layer_name
    from azrender_maya import render_settings

    settings = render_settings.read_settings()
    values = (bundle / "expected_job_bundle" / "parameter_values.yaml").read_text()
    reported = dict(zip([l.split("name: ")[1] for l in values.splitlines() if "- name: " in l],
                        [l.split("value: ")[1].strip("'") for l in values.splitlines() if "  value: " in l]))
    assert (settings.frames, settings.output_path or "<Scene>") == (reported["Frames"], reported["OutputFilePrefix"])
    assert settings.resolution == (int(reported["ImageWidth"]), int(reported["ImageHeight"]))
    assert reported["OutputFilePath"].endswith("/" + settings.images_folder)
    assert (settings.renderer, [maya_layer_name(layer.name) for layer in settings.renderable_layers],
            settings.cameras) == ("mayaSoftware", ["masterLayer"], ("persp",))  # template.yaml
    assert settings.image_format.extension == "exr"
    # the headless reader of the same scene as ASCII agrees field for field
    assert settings == read_maya_settings(bundle / "scene" / "cube.ma")


def test_a_maya_binary_scene_renders_each_layer_and_camera_with_its_own_settings(maya, tmp_path, monkeypatch):
    open_mb(maya, tmp_path, monkeypatch)
    import azrender_maya

    result = azrender_maya.submit(backend="batch", pool_id="maya-linux", dry_run=True)
    lines = [t["commandLine"] for t in result.dry_run_requests["tasks"]]
    assert len(lines) == 8  # 2 layers x 2 cameras x frames 1 and 3
    for layer in ("rs_beauty", "rs_shadow"):
        for camera in ("shotCamA", "shotCamB"):
            mine = [line for line in lines if f"-rl {layer} " in line and f"-cam {camera} " in line]
            assert len(mine) == 2, lines
            assert all("Render -r arnold " in line and " -im <RenderLayer>/<Camera>/shots " in line.replace('"', "")
                       for line in mine), mine
    assert "rs_wip" not in str(lines) and "defaultRenderLayer" not in str(lines) and "persp" not in str(lines)
    render = result.dry_run_requests["render"]
    assert render["expected_outputs"] == SHOTS
    assert (render["settings"]["resolution"], render["settings"]["images_folder"]) == ([1920, 1080], "renders")


def test_a_maya_binary_scene_comes_back_where_the_scene_says(maya, tmp_path, monkeypatch):
    open_mb(maya, tmp_path, monkeypatch)
    monkeypatch.setenv("AZRENDER_MAYA_RENDER", FAKE_MAYA_RENDER)
    import azrender_maya

    out = tmp_path / "renders"
    result = azrender_maya.submit(backend="local", wait=True, download_dir=out)
    got = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert got == sorted(path for paths in SHOTS.values() for path in paths)
    assert all((out / path).read_bytes().startswith(b"v/1\x01") for path in got)
    assert sorted((row["frame"], row["set"], row["state"]) for row in result.frames.rows) == sorted(
        (n, f"rs_{layer}-shotCam{cam}", "verified") for layer in ("beauty", "shadow") for cam in "AB" for n in (1, 3))
