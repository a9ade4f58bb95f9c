"""Maya discovery: the shared real scenes (Deadline's and maya-usd's test files), and .ma files
written here for what those do not cover (code pages, escapes, the node-type table, loops)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import azrender
from azrender.discovery.model import Kind
from azrender.discovery.scan import scan_scene
from azrender.errors import SceneError
from azrender.plugins import new_plugin_manager
from conftest import scan_isolated, shared_scene


shared = shared_scene
scan = scan_isolated


def deadline_expected(case: str) -> set[str]:
    """File names Maya plus Deadline's submitter listed for the case (scene itself excluded)."""
    text = shared(f"{case}/expected_job_bundle/asset_references.yaml").read_text()
    inputs = text.split("inputs:", 1)[1].split("outputs:", 1)[0]
    return {line.strip()[2:].rsplit("/", 1)[-1] for line in inputs.splitlines() if line.strip().startswith("- /")}


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


HEADER = "//Maya ASCII 2023 scene\n//Name: t.ma\n//Codeset: {codeset}\nrequires maya \"2023\";\n"


def write_ma(path: Path, body: str, codeset: str = "UTF-8", encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((HEADER.format(codeset=codeset) + body + "// End of t.ma\n").encode(encoding))
    return path


# ---- the shared scenes -------------------------------------------------------------------------


def test_deadline_cube_finds_what_maya_and_deadline_found():
    scene = shared("deadline_maya_cube/scene/cube.ma")
    report = scan(scene)
    assert {Path(d.path).name for d in report.dependencies} == deadline_expected("deadline_maya_cube") - {"cube.ma"}
    # Both were written as D:/... paths and are found beside the scene, as Maya does.
    assert {d.resolved_by for d in report.dependencies} == {"beside-scene"}
    kinds = {Path(d.path).name: d.kind for d in report.dependencies}
    assert kinds == {"scene_file_to_reference.mb": Kind.REFERENCE, "deadline_logo_48x48.png": Kind.TEXTURE}
    assert not report.missing
    assert report.best_effort  # the referenced .mb was read too, best effort


def test_deadline_referenced_layers_relative_and_foreign_references():
    scene = shared("deadline_maya_referenced_layers/scene/referenced_layers.ma")
    report = scan(scene)
    names = {Path(d.path).name for d in report.dependencies}
    assert names == deadline_expected("deadline_maya_referenced_layers") - {"referenced_layers.ma"}
    how = {Path(d.path).name: d.resolved_by for d in report.dependencies}
    assert how == {"ref.ma": "scene-relative", "scene_file_to_reference.ma": "beside-scene"}


def test_project_relative_texture_uses_the_workspace_root():
    report = scan(shared("mayausd_rel_project/scenes/TextureTest.ma"))
    [dep] = report.dependencies
    assert (dep.path, dep.resolved_by, dep.exists) == (
        str(shared("mayausd_rel_project/sourceimages/grid.png")), "project-relative", True)


def test_explicit_project_overrides_workspace_lookup(tmp_path):
    report = scan(shared("mayausd_rel_project/scenes/TextureTest.ma"), project=tmp_path)
    assert report.missing == [str(tmp_path / "sourceimages" / "grid.png")]


def test_first_udim_tile_with_tiling_mode_lists_all_tiles():
    report = scan(shared("mayausd_udim/UsdExportUDIMTest.ma"))
    assert [Path(d.path).name for d in report.dependencies] == [
        "UdimTest_1001_color.png", "UdimTest_1002_color.png", "UdimTest_1003_color.png"]
    assert report.dependencies[0].pattern.endswith("UdimTest_<UDIM>_color.png")


def test_usd_stage_is_followed_and_a_self_referencing_layer_ends(run_cli):
    stage = scan(shared("mayausd_stage/sceneWithStage.ma"))
    assert [Path(d.path).name for d in stage.dependencies] == ["stage.usda"]
    proc = run_cli("deps", shared("mayausd_tree/treeRef.ma"), "--json", timeout=30)
    assert proc.returncode == 0, proc.stderr
    deps = json.loads(proc.stdout)["dependencies"]
    assert [(Path(d["path"]).name, d["kind"]) for d in deps] == [("treeRef.usda", "cache")]


def test_maya_binary_reference_is_read_best_effort_and_camera_image_names_are_not_files():
    # The .mb holds STR chunks "imn" on its cameras: camera.imn is an image *name*, not a file.
    report = scan(shared("deadline_maya_cube/scene/scene_file_to_reference.mb"))
    assert report.dependencies == []
    assert report.best_effort and any("best effort" in w for w in report.warnings)


# ---- written here ------------------------------------------------------------------------------


def test_node_type_and_attribute_both_decide(tmp_path):
    for name in ("tex.png", "prefix.png", "cam.png", "studio.cache"):
        touch(tmp_path / name)
    scene = write_ma(tmp_path / "s.ma", '''
createNode file -n "file1";
	setAttr ".ftn" -type "string" "tex.png";
select -ne :defaultHardwareRenderGlobals;
	setAttr ".fn" -type "string" "prefix.png";
createNode camera -n "camShape";
	setAttr ".imn" -type "string" "cam.png";
createNode myStudioCache -n "c1";
	setAttr ".cachePath" -type "string" "studio.cache";
''')
    assert [Path(d.path).name for d in scan(scene).dependencies] == ["tex.png"]

    class StudioRows:
        @azrender.plugins.hookimpl
        def azrender_maya_path_attributes(self):
            return [("myStudioCache", "cachePath", "cache")]

    report = scan_scene(scene, plugin_manager=new_plugin_manager(load_entry_points=False, plugins=[StudioRows()]))
    assert [(Path(d.path).name, d.kind, d.source) for d in report.dependencies] == [
        ("tex.png", Kind.TEXTURE, "file1.fileTextureName"), ("studio.cache", Kind.CACHE, "c1.cachePath")]


@pytest.mark.parametrize("codeset,encoding,name", [
    ("1252", "cp1252", "caf\u00e9 cr\u00e8me.png"),
    ("932", "cp932", "\u30c6\u30af\u30b9\u30c1\u30e3.png"),
    ("936", "cp936", "\u7eb9\u7406.png"),
    ("UTF-8", "utf-8", "na\u00efve\u00a0nbsp \u2603.png"),
])
def test_codeset_decides_how_paths_are_decoded(tmp_path, codeset, encoding, name):
    touch(tmp_path / name)
    scene = write_ma(tmp_path / "s.ma", f'createNode file -n "f";\n\tsetAttr ".ftn" -type "string" "{name}";\n',
                     codeset=codeset, encoding=encoding)
    report = scan(scene)
    assert [d.path for d in report.dependencies] == [str(tmp_path / name)]
    assert report.dependencies[0].exists


def test_multi_line_statements_escapes_comments_and_full_attribute_names(tmp_path):
    touch(tmp_path / 'say "hi"; ok.png')
    touch(tmp_path / "back\\slash" / "x.png")  # on Linux the backslash is only a name character...
    touch(tmp_path / "back" / "slash" / "y.png")  # ...but scene paths treat it as a separator
    touch(tmp_path / "late.png")
    touch(tmp_path / "named.png")
    touch(tmp_path / "idle.png")
    scene = write_ma(tmp_path / "s.ma", r'''
/* a block comment with a "quote" and a ; inside */
createNode file -n "file1"; // trailing comment "with quotes"
	setAttr ".ftn"
		-type "string"
		"say \"hi\"; ok.png";
createNode file -n "file2";
createNode place2dTexture -n "p2d";
	setAttr ".ftn" -type "string" "not-a-file-node.png";
select -ne file2;
	setAttr ".ftn" -type "string" "back\\slash/y.png";
createNode file -n "file3";
setAttr "file1.ftn" -type "string" "late.png";
setAttr "file3.fileTextureName" -type "string" "named.png";
createNode "file" -n "file4";
createNode polyCube -n "cube";
	setAttr ".ftn" -type "string" "not-a-file-node-either.png";
setAttr -k on "file4.ftn" -type "string" "idle.png";
''')
    report = scan(scene)
    assert [(Path(d.path).relative_to(tmp_path).as_posix(), d.source) for d in report.dependencies] == [
        ("late.png", "file1.fileTextureName"), ("back/slash/y.png", "file2.fileTextureName"), ("named.png", "file3.fileTextureName"),
        ("idle.png", "file4.fileTextureName")]


def test_sequences_arrays_and_cache_files(tmp_path):
    for frame in (1, 2, 3):
        touch(tmp_path / "seq" / f"plate.{frame:04d}.exr")
    touch(tmp_path / "a.abc")
    touch(tmp_path / "layer.abc")
    touch(tmp_path / "cache" / "clothShape.xml")
    scene = write_ma(tmp_path / "s.ma", '''
createNode file -n "plate";
	setAttr ".ftn" -type "string" "seq/plate.0001.exr";
	setAttr ".ufe" yes;
createNode AlembicNode -n "abc";
	setAttr ".fn" -type "string" "a.abc";
	setAttr ".fns" -type "stringArray" 2 "a.abc" "layer.abc"  ;
createNode cacheFile -n "cf";
	setAttr ".cp" -type "string" "cache/";
	setAttr ".cn" -type "string" "clothShape";
''')
    report = scan(scene)
    assert [Path(d.path).relative_to(tmp_path).as_posix() for d in report.dependencies] == [
        "seq/plate.0001.exr", "seq/plate.0002.exr", "seq/plate.0003.exr", "a.abc", "layer.abc", "cache/clothShape.xml"]
    assert report.dependencies[0].pattern == str(tmp_path / "seq" / "plate.####.exr")


def test_references_nested_and_in_a_loop_are_each_read_once(tmp_path):
    touch(tmp_path / "a_tex.png")
    touch(tmp_path / "b_tex.png")
    write_ma(tmp_path / "a.ma", '''file -rdi 1 -ns "b" -rfn "bRN" -typ "mayaAscii" "b.ma";
file -rdi 2 -ns "c" -rfn "cRN" "deeper/only_b_knows.ma";
file -r -ns "b" -dr 1 -rfn "bRN" -typ "mayaAscii" "b.ma{1}";
createNode file -n "fa";
	setAttr ".ftn" -type "string" "a_tex.png";
''')
    write_ma(tmp_path / "b.ma", '''file -r -ns "a" -rfn "aRN" -typ "mayaAscii" "a.ma";
createNode file -n "fb";
	setAttr ".ftn" -type "string" "b_tex.png";
''')
    report = scan(tmp_path / "a.ma")
    assert [(Path(d.path).name, Path(d.scene).name) for d in report.dependencies] == [
        ("b.ma", "a.ma"), ("a_tex.png", "a.ma"), ("a.ma", "b.ma"), ("b_tex.png", "b.ma")]


def test_a_missing_reference_is_reported_and_its_contents_are_unknown(tmp_path, run_cli):
    scene = write_ma(tmp_path / "s.ma", 'file -r -ns "x" -rfn "xRN" "C:/show/assets/chair.ma";\n')
    proc = run_cli("deps", scene, "--json")
    assert proc.returncode == 3
    assert json.loads(proc.stdout)["missing"] == ["C:/show/assets/chair.ma"]


@pytest.mark.parametrize("content,problem", [
    (b"", "not a Maya ASCII file"),
    (b"createNode file;\n", "not a Maya ASCII file"),
    (b"FOR8\0\0\0\0\0\0\0\0\0\0\0\x10Maya", "Maya Binary file with a .ma extension"),
    (HEADER.format(codeset="UTF-8").encode() + b'createNode file -n "f";\n\tsetAttr ".ftn" -type "str', "truncated"),
    (HEADER.format(codeset="UTF-8").encode() + b'setAttr ".ftn" -type "string" "abc;\n', "unterminated string"),
    (HEADER.format(codeset="UTF-8").encode() + b"/* never closed", "comment"),
    (HEADER.format(codeset="UTF-8").encode() + b"\0\0\0", "binary data"),
])
def test_bad_maya_ascii_gives_one_clear_error(tmp_path, run_cli, content, problem):
    bad = touch(tmp_path / "bad scene.ma", content)
    with pytest.raises(SceneError, match=problem):
        scan(bad)
    proc = run_cli("deps", bad)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and str(bad) in proc.stderr and "Traceback" not in proc.stderr


def test_file_edited_as_utf8_under_a_cp1252_header_is_read_with_a_warning(tmp_path):
    touch(tmp_path / "\u00ddmir.png")  # UTF-8 c3 9d: 0x9d is not a cp1252 character
    scene = tmp_path / "s.ma"
    scene.write_bytes(HEADER.format(codeset="1252").encode()
                      + 'createNode file -n "f";\n setAttr ".ftn" -type "string" "\u00ddmir.png";\n'.encode())
    report = scan(scene)
    assert report.dependencies[0].exists
    assert any("not valid cp1252" in w for w in report.warnings)


def _chunk(tag: bytes, payload: bytes) -> bytes:
    """A Maya 2014+ (FOR8) chunk: tag, 4 unused bytes, 64-bit size, data padded to 8 bytes."""
    return tag + b"\0" * 4 + len(payload).to_bytes(8, "big") + payload + b"\0" * (-len(payload) % 8)


def _group(form: bytes, *children: bytes) -> bytes:
    body = form + b"".join(children)
    return b"FOR8" + b"\0" * 4 + len(body).to_bytes(8, "big") + body


def test_maya_binary_file_nodes_cache_files_and_references(tmp_path):
    for name in ("tex.png", "ref.ma", "cache/cloth.xml"):
        touch(tmp_path / name)
    (tmp_path / "ref.ma").write_text("//Maya ASCII 2023 scene\n")
    scene = tmp_path / "s.mb"
    scene.write_bytes(_group(
        b"Maya",
        _group(b"HEAD", _chunk(b"VERS", b"2023")),
        _group(b"FREF", _chunk(b"FREF", b"ref.ma{1}\0")),
        _group(b"RTFT", _chunk(b"CREA", b"\0file1\0"), _chunk(b"STR ", b"ftn\0\x01tex.png\0")),
        _group(b"DCAM", _chunk(b"CREA", b"\0camShape\0"), _chunk(b"STR ", b"imn\0\x01tex_not_a_file.png\0")),
        _group(b"CCHF", _chunk(b"CREA", b"\0cf\0"), _chunk(b"STR ", b"cp\0\x01cache\0"),
               _chunk(b"STR ", b"cn\0\x01cloth\0")),
    ))
    report = scan(scene)
    assert [(Path(d.path).relative_to(tmp_path).as_posix(), d.kind, d.source) for d in report.dependencies] == [
        ("ref.ma", Kind.REFERENCE, "FREF"), ("tex.png", Kind.TEXTURE, "file1.fileTextureName"),
        ("cache/cloth.xml", Kind.CACHE, "cf.cachePath")]
    assert report.best_effort and not report.missing


def test_a_file_name_that_is_not_utf8_survives_json_and_the_table(tmp_path, run_cli):
    (tmp_path / "caf\x81.png".encode("latin-1").decode("utf-8", "surrogateescape")).write_bytes(b"x")
    scene = tmp_path / "s.ma"
    # Declared cp1252, but 0x81 is not a cp1252 character: read as UTF-8 keeping every byte.
    scene.write_bytes(HEADER.format(codeset="1252").encode()
                      + b'createNode file -n "f";\n setAttr ".ftn" -type "string" "caf\x81.png";\n')
    proc = run_cli("deps", scene, "--json")
    assert proc.returncode == 0, proc.stderr
    [dep] = json.loads(proc.stdout)["dependencies"]
    assert os.fsencode(dep["path"]) == os.fsencode(tmp_path) + b"/caf\x81.png" and dep["exists"]
    table = run_cli("deps", scene)
    assert table.returncode == 0 and "caf\\udc81.png" in table.stdout
