"""``azrender paths``: what a user sees for the shared real scenes, in each storage mode and node OS."""

from __future__ import annotations

import json

from conftest import SHARED_SCENES

GLTF = SHARED_SCENES / "gltfio_blend"


def test_json_lists_every_dependency_with_key_and_node_path_and_exits_3_for_missing(run_cli):
    proc = run_cli("paths", GLTF / "01_textured_sphere.blend", "--storage", "copy", "--os", "linux", "--json")
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.count("\n") == 1 and "not found" in proc.stderr and "field.hdr" in proc.stderr
    result = json.loads(proc.stdout)
    assert result["scene"]["key"] == "assets/gltfio_blend/01_textured_sphere.blend"
    assert result["scene"]["submitted_key"] == "assets/gltfio_blend/01_textured_sphere.azrender.blend"
    by_name = {d["local_path"].rsplit("/", 1)[-1]: d for d in result["dependencies"]}
    base = by_name["01_Textured_Sphere_BaseColor.png"]
    assert base["key"] == "assets/gltfio_blend/01_Textured_Sphere_BaseColor.png"
    assert base["node_path"] == "$AZ_BATCH_JOB_PREP_WORKING_DIR/view/assets/gltfio_blend/01_Textured_Sphere_BaseColor.png"
    assert any(m.endswith("field.hdr") for m in result["missing"])


def test_udim_tiles_each_map_into_the_blobfuse_mount(run_cli):
    proc = run_cli("paths", GLTF / "33_udim.blend", "--storage", "blobfuse", "--os", "linux", "--prefix", "studio")
    assert proc.returncode == 0, proc.stderr
    nodes = [line.split(None, 1)[1] for line in proc.stdout.splitlines() if line.strip().startswith("node ")]
    tiles = [n for n in nodes if n.endswith(".png")]
    assert len(tiles) == 16
    assert "$AZ_BATCH_JOB_PREP_WORKING_DIR/view/assets/gltfio_blend/test2.1012.png" in tiles


def test_maya_project_on_a_windows_file_share(run_cli):
    scene = SHARED_SCENES / "mayausd_rel_project" / "scenes" / "TextureTest.ma"
    proc = run_cli("paths", scene, "--storage", "fileshare", "--os", "windows", "--share", "S:", "--json")
    assert proc.returncode == 0, proc.stderr
    [grid] = json.loads(proc.stdout)["dependencies"]
    assert grid["node_path"] == r"%AZ_BATCH_JOB_PREP_WORKING_DIR%\view\assets\mayausd_rel_project\sourceimages\grid.png"


def test_impossible_combinations_and_collisions_are_one_line_errors(run_cli, tmp_path):
    proc = run_cli("paths", GLTF / "33_udim.blend", "--storage", "blobfuse", "--os", "windows")
    assert proc.returncode == 2 and "Linux pools only" in proc.stderr and "Traceback" not in proc.stderr

    (tmp_path / "tex").mkdir()
    for name in ("Tex.png", "tex.png"):
        (tmp_path / "tex" / name).write_bytes(b"\x89PNG")
    scene = tmp_path / "two_spellings.ma"
    scene.write_text('//Maya ASCII 2023 scene\nrequires maya "2023";\n'
                     f'createNode file -n "file1";\n\tsetAttr ".ftn" -type "string" "{tmp_path}/tex/Tex.png";\n'
                     f'createNode file -n "file2";\n\tsetAttr ".ftn" -type "string" "{tmp_path}/tex/tex.png";\n')
    proc = run_cli("paths", scene, "--storage", "copy", "--os", "windows")
    assert proc.returncode == 6, proc.stderr
    assert "differ only in case" in proc.stderr and "Traceback" not in proc.stderr
    assert run_cli("paths", scene, "--storage", "copy", "--os", "linux").returncode == 0


def test_write_produces_the_submission_copy_and_node_files(run_cli, tmp_path):
    out = tmp_path / "submission"
    proc = run_cli("paths", GLTF / "33_udim.blend", "--os", "windows", "--write", out, "--json")
    assert proc.returncode == 0, proc.stderr
    uploads = {u["key"]: u["local_path"] for u in json.loads(proc.stdout)["uploads"]}
    assert uploads["assets/gltfio_blend/33_udim.azrender.blend"] == str(out / "33_udim.azrender.blend")
    from blender_asset_tracer import blendfile, trace

    copy = out / "33_udim.azrender.blend"
    written = sorted({bytes(u.asset_path).decode() for u in trace.deps(copy)})
    blendfile.close_all_cached()
    assert written == [f"//test{n}.<UDIM>.png" for n in ("", "2", "3", "4")]  # beside the scene: relative as before
    needed = json.loads((out / "needed.json").read_text())
    assert needed[0] == r"%AZ_BATCH_JOB_PREP_WORKING_DIR%\view\assets\gltfio_blend\33_udim.azrender.blend"
    assert len(needed) == 1 + 16  # the scene copy and every UDIM tile
