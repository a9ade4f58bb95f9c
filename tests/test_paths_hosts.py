"""Maya and 3ds Max: the rewritten Maya ASCII copy, the dirmap MEL and the 3ds Max retarget script."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from conftest import SHARED_SCENES
from azrender.discovery.model import Dependency, Kind, SceneReport
from azrender.errors import UsageError
from azrender.node.pathtext import expand
from azrender.paths.mapping import build_rules, map_dependencies
from azrender.paths.max import max_command_args, retarget_maxscript
from azrender.paths.maya import dirmap_mel, maya_path, plan_ma_copy, write_ma_copy
from azrender.paths.roots import derive_roots

CUBE = SHARED_SCENES / "deadline_maya_cube" / "scene"
LAYERS = SHARED_SCENES / "deadline_maya_referenced_layers" / "scene"


def cube_submission(node_os="linux", mode="copy"):
    report = SceneReport(str(CUBE / "cube.ma"), [
        Dependency(str(CUBE / "scene_file_to_reference.mb"), True, Kind.REFERENCE, resolved_by="beside-scene"),
        Dependency(str(CUBE / "deadline_logo_48x48.png"), True, Kind.TEXTURE, resolved_by="beside-scene"),
    ])
    roots = derive_roots([d.path for d in report.dependencies], report.scene)
    share = "S:" if node_os == "windows" and mode == "fileshare" else None
    rules = build_rules(roots, storage_mode=mode, node_os=node_os, share=share)
    return report, roots, rules, map_dependencies(report, roots, storage_mode=mode, node_os=node_os, rules=rules)


def test_ma_copy_points_the_artists_stale_paths_at_the_node_files(tmp_path, monkeypatch):
    report, roots, rules, mapped = cube_submission()
    plan = plan_ma_copy(CUBE / "cube.ma", mapped, rules)
    # Both reference lines and the file texture held D:/deadline-clients/... (the artist's machine).
    assert [r.line for r in plan.rewrites] == [7, 10, 191]
    assert all(r.old.startswith("D:/deadline-clients/") for r in plan.rewrites)
    copy = write_ma_copy(plan, tmp_path / "cube.azrender.ma")

    original = (CUBE / "cube.ma").read_bytes().split(b"\n")
    rewritten = copy.read_bytes().split(b"\n")
    assert len(original) == len(rewritten)
    changed = [i + 1 for i, (a, b) in enumerate(zip(original, rewritten)) if a != b]
    assert changed == [7, 10, 191]  # every other byte (cp1252 text included) is untouched

    # On a node where the files arrived, every rewritten path exists once the variable expands.
    monkeypatch.setenv("AZ_BATCH_JOB_PREP_WORKING_DIR", str(tmp_path / "prep"))
    for item in mapped:
        target = expand(item.node_path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(item.local_path, target)
    for line in changed:
        [written] = re.findall(r'"(\$AZ_BATCH_JOB_PREP_WORKING_DIR/[^"]+)"', rewritten[line - 1].decode())
        assert os.path.isfile(expand(written))


def test_ma_copy_leaves_relative_paths_and_follows_a_reference_found_elsewhere():
    scene = LAYERS / "referenced_layers.ma"
    report = SceneReport(str(scene), [
        Dependency(str(LAYERS / "ref.ma"), True, Kind.REFERENCE, resolved_by="scene-relative"),
        Dependency(str(LAYERS / "scene_file_to_reference.ma"), True, Kind.REFERENCE, resolved_by="beside-scene"),
    ])
    roots = derive_roots([d.path for d in report.dependencies], str(scene))
    rules = build_rules(roots, storage_mode="blobfuse", node_os="linux")
    plan = plan_ma_copy(scene, map_dependencies(report, roots, storage_mode="blobfuse", node_os="linux"), rules)
    assert [r.old for r in plan.rewrites] == [
        "/Users/rmvh/work/deadline/deadline-cloud-for-maya/job_bundle_output_tests/renderman/scene/scene_file_to_reference.ma"] * 2
    assert {r.new for r in plan.rewrites} == {"$AZ_BATCH_JOB_PREP_WORKING_DIR/view/assets/scene/scene_file_to_reference.ma"}
    assert '"ref.ma"' in plan.text  # relative: Maya resolves it beside the scene on the node too


def test_dirmap_mel_maps_artist_folders_with_node_variables_read_at_run_time():
    roots = derive_roots([r"D:\lib\wood.png"], r"C:\proj\shot.mb")
    mel = dirmap_mel(build_rules(roots, storage_mode="copy", node_os="windows"))
    assert mel.splitlines()[1] == "dirmap -en true;"
    assert 'dirmap -m "C:/proj" (getenv("AZ_BATCH_JOB_PREP_WORKING_DIR") + "/view/assets/proj");' in mel
    assert 'dirmap -m "D:/lib" (getenv("AZ_BATCH_JOB_PREP_WORKING_DIR") + "/view/assets/d-lib");' in mel
    fileshare = dirmap_mel(build_rules(roots, storage_mode="fileshare", node_os="windows", share="S:"))
    assert fileshare == mel  # every mode reads the job's view


def test_maya_paths_use_dollar_variables_and_forward_slashes_on_every_os():
    assert maya_path(r"%AZ_BATCH_JOB_PREP_WORKING_DIR%\view\assets\a\b.png") == "$AZ_BATCH_JOB_PREP_WORKING_DIR/view/assets/a/b.png"
    assert maya_path(r"\\acct.file.core.windows.net\renders\assets\a.png") == "//acct.file.core.windows.net/renders/assets/a.png"


def test_max_retarget_script_and_command_arguments():
    scene = r"C:\Users\JohnDoe\Desktop\max_reverse\max_files\01-teapot_no_cams_vray.max"
    bark = r"C:\Users\JohnDoe\Desktop\max_reverse\max_files\BARK5.jpg"
    report = SceneReport(scene, [Dependency(bark, True, Kind.TEXTURE, resolved_by="beside-scene")])
    roots = derive_roots([bark], scene)
    mapped = map_dependencies(report, roots, storage_mode="copy", node_os="windows")
    script = retarget_maxscript(mapped)
    assert ('#("C:\\\\Users\\\\JohnDoe\\\\Desktop\\\\max_reverse\\\\max_files\\\\BARK5.jpg", '
            '((systemTools.getEnvVariable "AZ_BATCH_JOB_PREP_WORKING_DIR") + "\\\\view\\\\assets\\\\max_files"))') in script
    assert "ATSOps.RetargetSelection folder" in script
    args = max_command_args(mapped, node_os="windows")
    assert args == [r"-bitmapPath:%AZ_BATCH_JOB_PREP_WORKING_DIR%\view\assets\max_files"]
    with pytest.raises(UsageError, match="Windows nodes only"):
        max_command_args(mapped, node_os="linux")


def test_ma_copy_rewrites_paths_built_on_the_artists_variables(tmp_path):
    (tmp_path / "tex").mkdir()
    wood = tmp_path / "tex" / "wood.png"
    wood.write_bytes(b"png")
    scene = tmp_path / "shot.ma"
    scene.write_text('//Maya ASCII 2023 scene\ncreateNode file -n "file1";\n'
                     '\tsetAttr ".ftn" -type "string" "$TEXDIR/wood.png";\n'
                     'createNode file -n "file2";\n\tsetAttr ".ftn" -type "string" "sourceimages/grid.png";\n')
    report = SceneReport(str(scene), [Dependency(str(wood), True, Kind.TEXTURE, resolved_by="env")])
    roots = derive_roots([str(wood)], str(scene))
    rules = build_rules(roots, storage_mode="copy", node_os="windows")
    plan = plan_ma_copy(scene, map_dependencies(report, roots, storage_mode="copy", node_os="windows"), rules)
    assert [(r.old, r.new) for r in plan.rewrites] == [("$TEXDIR/wood.png", f"$AZ_BATCH_JOB_PREP_WORKING_DIR/view/assets/{roots[0].alias}/tex/wood.png")]
    assert '"sourceimages/grid.png"' in plan.text
