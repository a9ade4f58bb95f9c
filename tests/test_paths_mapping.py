"""Local paths of every origin -> storage keys -> node paths, for every storage mode and node OS."""

from __future__ import annotations

import json

import pytest

from conftest import SHARED_SCENES
from azrender.discovery.model import Dependency, Kind, SceneReport
from azrender.errors import UsageError
from azrender.paths.mapping import build_rules, check_portability, map_dependencies, node_path, rules_for, store_node_base
from azrender.paths.model import MappingRule, map_local, parse_local_path, rules_from_json, rules_to_json
from azrender.paths.roots import asset_roots, derive_roots, storage_key
from azrender.plugins import hookimpl, new_plugin_manager


# ---- parsing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,flavor,anchor,parts", [
    (r"C:\Proj\tex\wood.png", "windows", "C:", ("Proj", "tex", "wood.png")),
    ("c:/Proj/./tex//wood.png", "windows", "C:", ("Proj", "tex", "wood.png")),
    (r"C:\Proj\scenes\..\tex\wood.png", "windows", "C:", ("Proj", "tex", "wood.png")),
    (r"\\nas\lib\tex\wood.png", "unc", r"\\nas\lib", ("tex", "wood.png")),
    ("//nas/lib/tex/wood.png", "unc", r"\\nas\lib", ("tex", "wood.png")),
    (r"\\?\UNC\nas\lib\wood.png", "unc", r"\\nas\lib", ("wood.png",)),
    (r"\\?\D:\very\long\wood.png", "windows", "D:", ("very", "long", "wood.png")),
    ("/home/me/proj/wood.png", "posix", "/", ("home", "me", "proj", "wood.png")),
    ("/Volumes/NAS/My Project/wood.png", "posix", "/", ("Volumes", "NAS", "My Project", "wood.png")),
])
def test_paths_of_any_origin_parse_on_this_os(text, flavor, anchor, parts):
    path = parse_local_path(text)
    assert (path.flavor, path.anchor, path.parts) == (flavor, anchor, parts)


@pytest.mark.parametrize("text", ["tex/wood.png", "wood.png", "", r"\\nas", "//tex/a.png/"[:5], "C:relative.png", "/../x"])
def test_relative_or_broken_paths_are_refused(text):
    with pytest.raises(ValueError):
        parse_local_path(text)


# ---- roots and keys ------------------------------------------------------------------------------

def test_roots_of_a_windows_scene_cover_project_other_drives_and_shares():
    roots = derive_roots([r"C:\work\shot\tex\wood.png", r"D:\library\hdri\sky.exr", r"\\nas\assets\trees\oak.abc"],
                         r"C:\work\shot\shot.blend")
    assert [(r.alias, r.prefix) for r in roots] == [
        ("shot", r"C:\work\shot"), ("d-library", r"D:\library"), ("nas-assets", "\\\\nas\\assets\\")]
    assert storage_key(r"c:\WORK\shot\tex\wood.png", roots) == "assets/shot/tex/wood.png"  # Windows ignores case
    assert storage_key(r"D:\library\hdri\sky.exr", roots) == "assets/d-library/hdri/sky.exr"
    assert storage_key("//NAS/assets/trees/oak.abc", roots) == "assets/nas-assets/trees/oak.abc"


def test_roots_of_a_posix_scene_and_case_sensitivity():
    roots = derive_roots(["/home/me/shot/tex/wood.png", "/mnt/lib/hdri/sky.exr"], "/home/me/shot/shot.blend")
    assert [(r.alias, r.prefix) for r in roots] == [("shot", "/home/me/shot"), ("mnt-lib", "/mnt/lib")]
    with pytest.raises(ValueError):
        storage_key("/home/me/SHOT/tex/wood.png", roots)  # another folder on Linux


def test_aliases_are_unique_and_do_not_depend_on_what_else_is_submitted():
    one = derive_roots([r"\\nas\lib\a.png"], r"C:\nas-lib\shot.ma")  # project 'nas-lib' vs share nas\lib
    other = derive_roots([r"E:\x\b.png", r"\\nas\lib\a.png"], r"C:\nas-lib\shot.ma")
    assert len({r.alias for r in one}) == 2
    assert dict((r.prefix, r.alias) for r in one).items() <= dict((r.prefix, r.alias) for r in other).items()


def test_a_maya_project_folder_is_the_root_of_its_scenes():
    scene = SHARED_SCENES / "mayausd_rel_project" / "scenes" / "TextureTest.ma"
    texture = SHARED_SCENES / "mayausd_rel_project" / "sourceimages" / "grid.png"
    roots = derive_roots([str(texture)], str(scene))
    assert roots[0].prefix == str(SHARED_SCENES / "mayausd_rel_project")
    assert storage_key(str(texture), roots) == "assets/mayausd_rel_project/sourceimages/grid.png"
    assert storage_key(str(scene), roots) == "assets/mayausd_rel_project/scenes/TextureTest.ma"


# ---- node paths: every origin x node OS x storage mode ------------------------------------------

SCENES = {  # scene, one texture outside the project folder
    "windows": (r"C:\proj\shot.blend", r"D:\lib\wood.png"),
    "unc": (r"\\nas\show\shot.blend", r"\\nas\lib\wood.png"),
    "posix": ("/home/me/proj/shot.blend", "/srv/lib/wood.png"),
}
KEYS = {"windows": "assets/d-lib/wood.png", "unc": "assets/nas-lib/wood.png", "posix": "assets/srv-lib/wood.png"}
STORE_ON_NODE = {  # where the job's view links to
    ("copy", "linux"): "$AZ_BATCH_NODE_SHARED_DIR/azrender",
    ("copy", "windows"): r"%AZ_BATCH_NODE_SHARED_DIR%\azrender",
    ("blobfuse", "linux"): "$AZ_BATCH_NODE_MOUNTS_DIR/azrender/studio",
    ("fileshare", "linux"): "$AZ_BATCH_NODE_MOUNTS_DIR/azrender/studio",
    ("fileshare", "windows"): r"S:\studio",
}
EXPECTED = {mode_os: (r"%AZ_BATCH_JOB_PREP_WORKING_DIR%\view\{key}" if mode_os[1] == "windows"
                      else "$AZ_BATCH_JOB_PREP_WORKING_DIR/view/{key}") for mode_os in STORE_ON_NODE}


@pytest.mark.parametrize("origin", sorted(SCENES))
@pytest.mark.parametrize("mode,node_os", sorted(EXPECTED))
def test_every_origin_maps_for_every_mode_and_node_os(origin, mode, node_os):
    scene, texture = SCENES[origin]
    report = SceneReport(scene, [Dependency(texture, True, Kind.TEXTURE)])
    roots = derive_roots([texture], scene)
    share = "S:" if node_os == "windows" else None
    [mapped] = map_dependencies(report, roots, storage_mode=mode, node_os=node_os, store_prefix="studio", share=share)
    expected_key = KEYS[origin]
    sep = "\\" if node_os == "windows" else "/"
    assert mapped.key == expected_key
    assert mapped.node_path == EXPECTED[mode, node_os].format(key=expected_key.replace("/", sep))
    assert mapped.node_path == node_path(mapped.key, storage_mode=mode, node_os=node_os, store_prefix="studio", share=share)
    assert store_node_base(mode, node_os, store_prefix="studio", share=share) == STORE_ON_NODE[mode, node_os]


def test_windows_fileshare_by_unc_path_and_refusals():
    assert store_node_base("fileshare", "windows",
                           share="//acct.file.core.windows.net/renders") == r"\\acct.file.core.windows.net\renders"
    assert store_node_base("fileshare", "windows", mount_path="T") == "T:"
    with pytest.raises(UsageError, match="Linux pools only"):
        node_path("assets/a/b.png", storage_mode="blobfuse", node_os="windows")
    # a pool's mount (Azure Files, CIFS) appears under the mounts folder on Windows too
    assert store_node_base("fileshare", "windows", store_prefix="show1") == r"%AZ_BATCH_NODE_MOUNTS_DIR%\azrender\show1"
    with pytest.raises(UsageError, match="drive letter or a UNC"):
        node_path("assets/a/b.png", storage_mode="fileshare", node_os="windows", share="share-without-slashes")
    with pytest.raises(UsageError, match="unknown storage mode"):
        node_path("assets/a/b.png", storage_mode="ftp", node_os="linux")


def test_rules_round_trip_through_json_and_map_like_the_node():
    roots = derive_roots([r"D:\lib\wood.png"], r"C:\proj\shot.blend")
    rules = build_rules(roots, storage_mode="copy", node_os="linux")
    again = rules_from_json(json.loads(json.dumps(rules_to_json(rules))))
    assert again == rules
    assert map_local(r"d:/LIB/sub/wood.png", again)[1] == "$AZ_BATCH_JOB_PREP_WORKING_DIR/view/assets/d-lib/sub/wood.png"
    assert map_local("/elsewhere/wood.png", again) is None
    with pytest.raises(ValueError, match="version"):
        rules_from_json({"version": 99, "rules": []})


# ---- hooks ---------------------------------------------------------------------------------------

def test_hooks_rename_a_root_and_add_a_rule_for_files_the_node_has():
    class Studio:
        @hookimpl
        def azrender_asset_roots(self, scene, dependencies, roots):
            roots[:] = [r if r.prefix != r"D:\lib" else type(r)("studio-lib", r.prefix) for r in roots]

        @hookimpl
        def azrender_mapping_rules(self, submission, rules):
            rules.append(MappingRule(r"P:\software", "/opt/studio", "linux", alias=None))

    pm = new_plugin_manager(load_entry_points=False, plugins=[Studio()])
    report = SceneReport(r"C:\proj\shot.blend", [Dependency(r"D:\lib\wood.png", True), Dependency(r"P:\software\ocio\config.ocio", True)])
    roots = asset_roots(report.scene, report.dependencies, plugin_manager=pm)
    rules = rules_for(None, roots, storage_mode="copy", node_os="linux", plugin_manager=pm)
    wood, ocio = map_dependencies(report, roots, storage_mode="copy", node_os="linux", rules=rules)
    assert (wood.key, wood.node_path) == ("assets/studio-lib/wood.png", "$AZ_BATCH_JOB_PREP_WORKING_DIR/view/assets/studio-lib/wood.png")
    assert (ocio.key, ocio.node_path) == (None, "/opt/studio/ocio/config.ocio")  # nothing to upload


# ---- problems before submission --------------------------------------------------------------------

def _mapped(scene, paths, node_os, **where):
    report = SceneReport(scene, [Dependency(p, True, Kind.TEXTURE) for p in paths])
    roots = derive_roots(paths, scene)
    return map_dependencies(report, roots, storage_mode="copy", node_os=node_os, **where)


def test_case_collisions_are_reported_where_they_break():
    windows_paths = [r"C:\proj\tex\Tex.png", r"C:\proj\tex\tex.png"]  # one file, spelled twice
    [problem] = check_portability(_mapped(r"C:\proj\a.blend", windows_paths, "linux"), "linux")
    assert "Tex.png" in problem and "tex.png" in problem and "two different paths" in problem
    assert check_portability(_mapped(r"C:\proj\a.blend", windows_paths, "windows"), "windows") == []
    linux_paths = ["/p/tex/Tex.png", "/p/tex/tex.png"]  # two files
    [problem] = check_portability(_mapped("/p/a.blend", linux_paths, "windows"), "windows")
    assert "overwrite" in problem
    assert check_portability(_mapped("/p/a.blend", linux_paths, "linux"), "linux") == []
    assert check_portability(_mapped("/p/a.blend", ["/p/tex/a.png", "/p/tex/b.png"], "linux"), "linux") == []


def test_names_windows_refuses_are_reported_only_for_windows_nodes():
    names = ["/p/tex/CON.png", "/p/tex/aux", "/p/tex/a:b.png", "/p/tex/what?.png", "/p/tex/dot.", "/p/tex/ok.png"]
    mapped = _mapped("/p/a.blend", names, "windows")
    problems = check_portability(mapped, "windows")
    for bad in ("CON.png", "aux", "a:b.png", "what?.png", "dot."):
        assert sum(f"'{bad}'" in p for p in problems) == 1, (bad, problems)
    assert not any("ok.png" in p for p in problems)
    assert check_portability(_mapped("/p/a.blend", names, "linux"), "linux") == []


def test_a_backslash_in_a_linux_file_name_is_reported_for_every_node():
    for node_os in ("linux", "windows"):
        problems = check_portability(_mapped("/p/a.blend", ["/p/tex/a\\b.png"], node_os), node_os)
        assert any("backslash" in p for p in problems), node_os


def test_paths_too_long_for_a_windows_node_are_reported():
    deep = "C:\\proj\\" + "\\".join(["folder-with-a-long-name"] * 10) + "\\wood.png"
    assert any("characters" in p for p in check_portability(_mapped(r"C:\proj\a.blend", [deep], "windows"), "windows"))
    assert check_portability(_mapped(r"C:\proj\a.blend", [deep], "linux"), "linux") == []


# ---- the shared real scenes' known dependencies ----------------------------------------------------

def test_shared_scenes_known_dependencies_map_under_their_roots():
    cube = SHARED_SCENES / "deadline_maya_cube" / "scene"
    report = SceneReport(str(cube / "cube.ma"), [
        Dependency(str(cube / "scene_file_to_reference.mb"), True, Kind.REFERENCE, resolved_by="beside-scene"),
        Dependency(str(cube / "deadline_logo_48x48.png"), True, Kind.TEXTURE, resolved_by="beside-scene"),
    ])
    roots = derive_roots([d.path for d in report.dependencies], report.scene)
    assert roots[0].prefix == str(SHARED_SCENES / "deadline_maya_cube")  # its workspace.mel marks the project
    mapped = map_dependencies(report, roots, storage_mode="fileshare", node_os="windows", share="S:")
    assert [m.node_path for m in mapped] == [r"%AZ_BATCH_JOB_PREP_WORKING_DIR%\view\assets\deadline_maya_cube\scene\scene_file_to_reference.mb",
                                             r"%AZ_BATCH_JOB_PREP_WORKING_DIR%\view\assets\deadline_maya_cube\scene\deadline_logo_48x48.png"]
    # The .max stores the artist's Windows path; mapped as written, for a Linux node and a Windows node.
    max_report = SceneReport(r"C:\Users\JohnDoe\Desktop\max_reverse\max_files\01-teapot_no_cams_vray.max",
                             [Dependency(r"C:\Users\Vadim\Documents\3dsMax\sceneassets\images\BARK5.jpg", False, Kind.TEXTURE)])
    roots = derive_roots([d.path for d in max_report.dependencies], max_report.scene)
    [bark] = map_dependencies(max_report, roots, storage_mode="copy", node_os="windows")
    assert bark.node_path == r"%AZ_BATCH_JOB_PREP_WORKING_DIR%\view\assets\c-users\Vadim\Documents\3dsMax\sceneassets\images\BARK5.jpg"


def test_a_storage_key_over_the_blob_name_limit_is_reported():
    deep = "/p/" + "/".join(["a-folder-name-of-thirty-chars-"] * 40) + "/wood.png"
    assert any("Azure Blob Storage" in p for p in check_portability(_mapped("/p/a.blend", [deep], "linux"), "linux"))


# ---- one submission's plan and node files ----------------------------------------------------------

def test_maya_submission_plan_writes_the_copy_dirmap_rules_and_check_list(tmp_path):
    from azrender.paths.plan import plan_paths, write_submission_files

    cube = SHARED_SCENES / "deadline_maya_cube" / "scene"
    report = SceneReport(str(cube / "cube.ma"), [
        Dependency(str(cube / "scene_file_to_reference.mb"), True, Kind.REFERENCE, resolved_by="beside-scene"),
        Dependency(str(cube / "deadline_logo_48x48.png"), True, Kind.TEXTURE, resolved_by="beside-scene"),
        Dependency(str(cube / "gone.png"), False, Kind.TEXTURE),
    ])
    plan = plan_paths(report, storage_mode="copy", node_os="linux")
    assert plan.host == "maya" and plan.submitted_key == "assets/deadline_maya_cube/scene/cube.azrender.ma"
    files = write_submission_files(plan, tmp_path)
    keys = "assets/deadline_maya_cube/scene/"
    assert dict(files.uploads) == {
        str(cube / "scene_file_to_reference.mb"): keys + "scene_file_to_reference.mb",
        str(cube / "deadline_logo_48x48.png"): keys + "deadline_logo_48x48.png",
        str(tmp_path / "cube.azrender.ma"): keys + "cube.azrender.ma",
    }  # the missing file is not uploaded, and not required on the node either
    needed = json.loads(files.needed_json.read_text())
    assert needed[0] == "$AZ_BATCH_JOB_PREP_WORKING_DIR/view/assets/deadline_maya_cube/scene/cube.azrender.ma"
    assert len(needed) == 3 and not any("gone.png" in p for p in needed)
    script = files.host_script.read_text()
    compile(script, "dirmap.py", "exec")  # valid Python for Maya's interpreter (-preRender exec)
    assert "('" + str(cube.parent.as_posix()) + "', '$AZ_BATCH_JOB_PREP_WORKING_DIR/view/assets/deadline_maya_cube')" in script
    assert rules_from_json(json.loads(files.rules_json.read_text())) == list(plan.rules)


def test_max_submission_plan_keeps_the_scene_and_writes_the_retarget_script(tmp_path):
    from azrender.paths.plan import plan_paths, write_submission_files

    scene = SHARED_SCENES / "max_dump" / "01-teapot_no_cams_vray.max"
    report = SceneReport(str(scene), [Dependency(r"C:\Users\Vadim\Documents\3dsMax\sceneassets\images\BARK5.jpg", False, Kind.TEXTURE)])
    with pytest.raises(UsageError, match="Windows nodes only"):
        plan_paths(report, storage_mode="copy", node_os="linux")
    plan = plan_paths(report, storage_mode="fileshare", node_os="windows", share="S:")
    files = write_submission_files(plan, tmp_path)
    assert files.scene_copy is None and files.uploads == ((str(scene), "assets/max_dump/01-teapot_no_cams_vray.max"),)
    assert plan.submitted_node_path == r"%AZ_BATCH_JOB_PREP_WORKING_DIR%\view\assets\max_dump\01-teapot_no_cams_vray.max"
    assert files.host_script.name == "retarget.ms" and "ATSOps.GetFiles" in files.host_script.read_text()


def test_a_windows_scene_plans_its_copy_beside_it_on_the_node():
    from azrender.paths.plan import plan_paths

    report = SceneReport(r"\\nas\show\seq\shot.ma", [Dependency(r"\\nas\show\seq\tex\wood.png", True, Kind.TEXTURE)])
    plan = plan_paths(report, storage_mode="fileshare", node_os="windows", share="S:")
    assert plan.submitted_node_path == r"%AZ_BATCH_JOB_PREP_WORKING_DIR%\view\assets\seq\shot.azrender.ma"
    assert plan.uploads == ((r"\\nas\show\seq\tex\wood.png", "assets/seq/tex/wood.png"),)


def test_a_file_no_rule_places_on_the_node_blocks_the_plan():
    from azrender.paths.plan import plan_paths

    class DropLibrary:
        @hookimpl
        def azrender_mapping_rules(self, submission, rules):
            rules[:] = [r for r in rules if r.alias != "d-lib"]

    report = SceneReport(r"C:\proj\shot.blend", [Dependency(r"D:\lib\wood.png", True, Kind.TEXTURE)])
    plan = plan_paths(report, storage_mode="copy", node_os="linux",
                      plugin_manager=new_plugin_manager(load_entry_points=False, plugins=[DropLibrary()]))
    assert plan.problems == (r"D:\lib\wood.png: no mapping rule places it on the node (a hook removed its rule?)",)
    assert plan.uploads == () and plan.needed_on_node == (plan.submitted_node_path,)


def test_unknown_scene_types_are_refused_in_one_line():
    from azrender.paths.plan import plan_paths

    with pytest.raises(UsageError, match=r"\.blend, \.ma, \.mb and \.max"):
        plan_paths(SceneReport("/p/scene.c4d", []), storage_mode="copy", node_os="linux")
