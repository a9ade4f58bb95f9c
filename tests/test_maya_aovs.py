"""Maya scenes rendered with Arnold list their AOVs (the passes beside the beauty) as the files
the render must write: one per AOV and frame when they are not merged, one multi-layer EXR when
they are. Read headless from the .ma and in-app through the plugin (the maya.cmds stand-in answers
from its own tables); on the local backend the fake ``Render`` writes what MtoA would (its own
table), so a task whose AOV file is missing fails naming it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import failed_submission
from test_hosts_maya import maya  # noqa: F401  (the maya.cmds stand-in and the plug-in's scripts)

FAKE_MAYA_RENDER = str(Path(__file__).parent / "fake_maya_render")
ENV = {"AZRENDER_MAYA_RENDER": FAKE_MAYA_RENDER}


def arnold_scene(folder: Path, name: str, *, prefix: str = "", merge: bool = False, aov_mode: int | None = None,
                 aovs=(("diffuse", True), ("sss", False), ("Z", True)), extra: str = "") -> Path:
    """An Arnold scene as Maya 2024 with MtoA 5 saves it: frames 1-2, padding 4, EXR, ``aovs`` as
    (name, enabled[, driver]) connected to the render options (driver: defaultArnoldDriver)."""
    lines = ['//Maya ASCII 2024 scene', 'requires maya "2024";',
             'requires -nodeType "aiOptions" -nodeType "aiAOV" -nodeType "aiAOVDriver" "mtoa" "5.3.4.1";', extra,
             'createNode transform -s -n "persp";', 'createNode camera -s -n "perspShape" -p "persp";',
             'createNode aiOptions -s -n "defaultArnoldRenderOptions";',
             '\tsetAttr ".version" -type "string" "5.3.4.1";']
    lines += [f'\tsetAttr ".aovMode" {aov_mode};'] if aov_mode is not None else []
    lines += ['createNode aiAOVFilter -s -n "defaultArnoldFilter";', '\tsetAttr ".ai_translator" -type "string" "gaussian";',
              'createNode aiAOVDriver -s -n "defaultArnoldDriver";']
    lines += ['\tsetAttr ".merge_AOVs" yes;'] if merge else []
    lines += ['\tsetAttr ".ai_translator" -type "string" "exr";']
    lines += ['createNode aiAOVDriver -n "utilityDriver";', '\tsetAttr ".ai_translator" -type "string" "tif";']
    for aov, enabled, *_ in aovs:
        lines += [f'createNode aiAOV -n "aiAOV_{aov}";'] + ([] if enabled else ['\tsetAttr ".aoven" no;'])
        lines += [f'\tsetAttr ".aovn" -type "string" "{aov}";', '\tsetAttr ".aovt" 5;']
    lines += ['select -ne :defaultRenderGlobals;', '\tsetAttr ".ren" -type "string" "arnold";', '\tsetAttr ".an" yes;',
              '\tsetAttr ".fs" 1;', '\tsetAttr ".ef" 2;', '\tsetAttr ".pad" 4;']
    lines += [f'\tsetAttr ".ifp" -type "string" "{prefix}";'] if prefix else []
    for aov, _, *driver in aovs:
        source = f'"{driver[0]}.msg"' if driver else '":defaultArnoldDriver.msg"'
        lines += [f'connectAttr "aiAOV_{aov}.msg" ":defaultArnoldRenderOptions.aovs" -na;',
                  f'connectAttr {source} "aiAOV_{aov}.out[0].drvr";',
                  f'connectAttr ":defaultArnoldFilter.msg" "aiAOV_{aov}.out[0].ftr";']
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def dry_run(run_cli, scene) -> dict:
    proc = run_cli("submit", scene, "--dry-run", "--json", env=ENV)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["render"]


def files_of(plan: dict) -> list[str]:
    return [path for paths in plan["expected_outputs"].values() for path in paths]


def test_aovs_not_merged_are_a_file_each_in_a_folder_of_their_name(run_cli, tmp_path):
    plan = dry_run(run_cli, arnold_scene(tmp_path, "aovs.ma"))
    assert plan["expected_outputs"] == {  # the switched-off sss AOV writes nothing
        "defaultRenderLayer-persp-frames-0001": ["beauty/aovs.0001.exr", "diffuse/aovs.0001.exr", "Z/aovs.0001.exr"],
        "defaultRenderLayer-persp-frames-0002": ["beauty/aovs.0002.exr", "diffuse/aovs.0002.exr", "Z/aovs.0002.exr"]}
    assert plan["settings"]["layers"][0]["passes"] == ["beauty", "diffuse", "Z"]
    assert plan["settings"]["image_format"]["multilayer"] is False


def test_the_render_pass_token_names_each_aov_file(run_cli, tmp_path):
    plan = dry_run(run_cli, arnold_scene(tmp_path, "aovs_token.ma", prefix="render/<Scene>_<RenderPass>"))
    assert files_of(plan)[:3] == ["render/aovs_token_beauty.0001.exr", "render/aovs_token_diffuse.0001.exr",
                                  "render/aovs_token_Z.0001.exr"]


def test_merged_aovs_are_one_multilayer_exr_per_frame(run_cli, tmp_path):
    plan = dry_run(run_cli, arnold_scene(tmp_path, "aovs_merged.ma", merge=True))
    assert files_of(plan) == ["aovs_merged.0001.exr", "aovs_merged.0002.exr"]
    assert plan["settings"]["image_format"]["multilayer"] is True
    assert plan["settings"]["layers"][0]["passes"] == ["beauty", "diffuse", "Z"]  # the layers inside the file
    # <RenderPass> in the prefix: MtoA writes the AOVs apart even with Merge AOVs on
    plan = dry_run(run_cli, arnold_scene(tmp_path, "merge_token.ma", merge=True, prefix="<Scene>_<RenderPass>"))
    assert files_of(plan)[:3] == ["merge_token_beauty.0001.exr", "merge_token_diffuse.0001.exr", "merge_token_Z.0001.exr"]


def test_an_aov_written_by_a_driver_of_its_own_is_not_expected_in_the_beautys_files(run_cli, tmp_path):
    plan = dry_run(run_cli, arnold_scene(tmp_path, "drivers.ma", aovs=(("diffuse", True), ("N", True, "utilityDriver"))))
    assert files_of(plan)[:2] == ["beauty/drivers.0001.exr", "diffuse/drivers.0001.exr"]
    assert plan["settings"]["layers"][0]["passes"] == ["beauty", "diffuse"]


def test_aovs_switched_off_render_the_beauty_alone(run_cli, tmp_path):
    plan = dry_run(run_cli, arnold_scene(tmp_path, "no_aovs.ma", aov_mode=0))
    assert files_of(plan) == ["no_aovs.0001.exr", "no_aovs.0002.exr"]
    plan = dry_run(run_cli, arnold_scene(tmp_path, "all_off.ma", aovs=(("diffuse", False),)))
    assert files_of(plan) == ["all_off.0001.exr", "all_off.0002.exr"]


@pytest.mark.parametrize("name,options", [("aovs.ma", {}), ("aovs_token.ma", {"prefix": "render/<Scene>_<RenderPass>"}),
                                          ("aovs_merged.ma", {"merge": True})])
def test_the_files_mtoa_writes_come_back_verified(run_cli, tmp_path, name, options):
    scene = arnold_scene(tmp_path, name, **options)
    expected = files_of(dry_run(run_cli, scene))
    out = tmp_path / "renders"
    proc = run_cli("submit", scene, "--wait", "--download", out, "--json", env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(expected)
    frames = json.loads(proc.stdout)["status"]["frames"]
    assert [(f["frame"], f["state"]) for f in frames] == [(1, "verified"), (2, "verified")]
    assert [path for f in frames for path in f["outputs"]] == expected


def test_an_aov_the_render_did_not_write_fails_the_task_naming_it(run_cli, tmp_path):
    scene = arnold_scene(tmp_path, "aovs_lost.ma")
    failed, status = failed_submission(run_cli, scene, "--frames", "2", env=ENV)
    assert "did not write 1 of its 3 expected file(s): Z/aovs_lost.0002.exr" in failed["stderr_tail"]
    assert "  frame 2 defaultRenderLayer-persp: failed" in status, status


def test_the_plugin_lists_the_aovs_maya_holds(maya, tmp_path, monkeypatch):
    """The file saves no AOV of its own: those of the referenced light rig come from Maya."""
    for name in ("STATE", "CONFIG"):
        monkeypatch.setenv(f"AZRENDER_{name}_DIR", str(tmp_path / name.lower()))
    rig = 'file -rdi 1 -ns "rig" -rfn "rigRN" "light_rig.ma";'
    scene = arnold_scene(tmp_path, "aovs_rig.ma", aovs=(), extra=rig)
    shutil.copy(scene, tmp_path / "light_rig.ma")
    maya.open_scene(str(scene))
    import azrender_maya

    result = azrender_maya.submit(backend="batch", pool_id="maya-linux", dry_run=True)
    assert result.dry_run_requests["render"]["expected_outputs"]["defaultRenderLayer-persp-frames-0001"] == [
        "beauty/aovs_rig.0001.exr", "specular/aovs_rig.0001.exr", "crypto_object/aovs_rig.0001.exr"]
    from azrender.rendersettings.maya import read_maya_settings

    assert read_maya_settings(scene).layers[0].passes == ()  # what the file alone says
