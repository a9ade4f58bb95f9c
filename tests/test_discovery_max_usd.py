"""3ds Max (.max asset streams) and USD text layers, on the shared real files and on layers
written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from azrender.discovery.model import Kind
from azrender.errors import SceneError
from conftest import scan_isolated, shared_scene


shared = shared_scene
scan = scan_isolated


# ---- 3ds Max -----------------------------------------------------------------------------------


def test_max_2016_stored_and_resolved_path_are_one_missing_texture():
    report = scan(shared("max_dump/01-teapot_no_cams_vray.max"))
    # Two records (stored -> resolved, then the resolved one again): one file, last seen here.
    assert report.missing == ["C:\\Users\\JohnDoe\\Desktop\\max_reverse\\max_files\\BARK5.jpg"]
    assert report.dependencies[0].kind is Kind.TEXTURE


def test_max_2010_stream_lists_paths_and_skips_material_names():
    report = scan(shared("max_dump/08-extended_header_length_alysson_claret.max"))
    names = sorted(p.rsplit("\\", 1)[-1] for p in report.missing)
    assert names == ["NoImage.png", "T_CH_FNPCbot01_cm.tga", "T_CH_FNPCbot01_ns.tga", "Xoliulshader_2.0.fx"]
    assert not any("M_CH_FNPCbot" in d.path for d in report.dependencies)


def test_max_2017_install_file_is_listed_as_written():
    report = scan(shared("max_dump/2017_many_cams_and_other_stuff.max"))
    assert report.missing == ["E:\\Autodesk\\17\\3ds Max 2017\\maps\\uvwunwrap\\UV_Checker.png"]


@pytest.mark.parametrize("rel", ["max_dump/07-standard-17_physical_cameras.max", "max_minihouse/MiniHouse.max"])
def test_max_scenes_without_assets_need_nothing(rel, run_cli):
    proc = run_cli("deps", shared(rel), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dependencies"] == []


def test_max_texture_found_beside_the_scene_and_in_a_search_path(tmp_path):
    import shutil

    scene = tmp_path / "shot" / "alysson.max"
    scene.parent.mkdir()
    shutil.copy(shared("max_dump/08-extended_header_length_alysson_claret.max"), scene)
    (scene.parent / "T_CH_FNPCbot01_ns.tga").write_bytes(b"tga")
    textures = tmp_path / "textures"
    textures.mkdir()
    (textures / "T_CH_FNPCbot01_cm.tga").write_bytes(b"tga")
    report = scan(scene, search_paths=[textures])
    found = {Path(d.path).name: d.resolved_by for d in report.dependencies if d.exists}
    assert found == {"T_CH_FNPCbot01_ns.tga": "beside-scene", "T_CH_FNPCbot01_cm.tga": "search-path"}
    assert len(report.missing) == 2


def test_truncated_max_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "cut.max"
    bad.write_bytes(shared("max_dump/01-teapot_no_cams_vray.max").read_bytes()[:5000])
    with pytest.raises(SceneError, match="cut.max"):
        scan(bad)


# ---- USD ---------------------------------------------------------------------------------------

LAYER = '''#usda 1.0
(
    doc = """an @email@example.com in a doc string"""
    subLayers = [@./{sub}@]
)
# a comment with @not/a/path.png@
def Material "m"
{{
    asset inputs:file = @{texture}@
    asset inputs:other = @@@odd@name.png@@@
}}
'''


def write_layer(path: Path, sub: str, texture: str) -> Path:
    path.write_text(LAYER.format(sub=sub, texture=texture), encoding="utf-8")
    return path


def test_usd_layers_loop_back_and_every_asset_is_found_once(tmp_path):
    (tmp_path / "wood.png").write_bytes(b"png")
    (tmp_path / "odd@name.png").write_bytes(b"png")
    for tile in (1001, 1002):
        (tmp_path / f"skin.{tile}.png").write_bytes(b"png")
    write_layer(tmp_path / "a.usda", "b.usda", "wood.png")
    write_layer(tmp_path / "b.usda", "a.usda", "skin.<UDIM>.png")
    report = scan(tmp_path / "a.usda")
    assert [(Path(d.path).name, d.kind) for d in report.dependencies] == [
        ("b.usda", Kind.REFERENCE), ("wood.png", Kind.TEXTURE), ("odd@name.png", Kind.TEXTURE),
        ("a.usda", Kind.REFERENCE), ("skin.1001.png", Kind.TEXTURE), ("skin.1002.png", Kind.TEXTURE)]
    assert report.dependencies[1].source == "a.usda:9 inputs:file"


def test_shared_udim_layer_lists_tiles():
    report = scan(shared("mayausd_udim/UsdImportUDIMTest.usda"))
    assert [Path(d.path).name for d in report.dependencies] == [
        "UdimTest_1001_color.png", "UdimTest_1002_color.png", "UdimTest_1003_color.png"]


def test_binary_usd_is_listed_but_not_read(tmp_path):
    (tmp_path / "crate.usdc").write_bytes(b"PXR-USDC" + b"\0" * 64)
    write_layer(tmp_path / "a.usda", "crate.usdc", "gone.png")
    report = scan(tmp_path / "a.usda")
    assert [Path(d.path).name for d in report.dependencies][:1] == ["crate.usdc"]
    assert report.missing == [str(tmp_path / "gone.png"), str(tmp_path / "odd@name.png")]
    assert report.best_effort and any("binary USD" in w for w in report.warnings)


def test_text_that_is_not_usd_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.usda"
    bad.write_text("hello @x@\n")
    with pytest.raises(SceneError, match="not a USD layer"):
        scan(bad)
