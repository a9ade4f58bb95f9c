"""Property-based fuzzing of the headless readers: whatever the bytes, the result is a report or
the project's own SceneError (one line naming the file) — never another exception, never a hang."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azrender.discovery.scan import scan_scene
from azrender.errors import SceneError
from azrender.plugins import new_plugin_manager
from conftest import SHARED_SCENES, require

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PLUGINS = new_plugin_manager(load_entry_points=False)
MA_HEADER = b"//Maya ASCII 2023 scene\n//Codeset: 1252\n"
MA_WORDS = [b"createNode file -n ", b"setAttr \".ftn\" -type \"string\" ", b"file -r -rfn \"x\" ", b"select -ne ",
            b"\"", b"\\\"", b"\\", b";", b"\n", b"//", b"/*", b"*/", b" ", b"-rdi 1 ", b"\"a.png\"", b"{1}", b".ma"]


def scan_bytes(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "fuzzed" + suffix)
        with open(path, "wb") as handle:
            handle.write(data)
        try:
            scan_scene(path, plugin_manager=PLUGINS, env={})
        except SceneError as exc:
            assert path in str(exc) and "\n" not in str(exc)


@FUZZ
@given(st.binary(max_size=2048))
def test_maya_ascii_arbitrary_bytes(data):
    scan_bytes(data, ".ma")


@FUZZ
@given(st.lists(st.sampled_from(MA_WORDS) | st.binary(max_size=8), max_size=60))
def test_maya_ascii_statement_soup(parts):
    scan_bytes(MA_HEADER + b"".join(parts), ".ma")


@FUZZ
@given(st.binary(max_size=2048))
def test_max_arbitrary_bytes(data):
    scan_bytes(data, ".max")


@pytest.fixture(scope="module")
def max_copy(tmp_path_factory):
    source = SHARED_SCENES / "max_dump" / "01-teapot_no_cams_vray.max"
    require(source.exists(), f"shared scene {source}")
    copy = tmp_path_factory.mktemp("max") / "teapot.max"
    shutil.copy(source, copy)
    return copy


@FUZZ
@given(data=st.data())
def test_max_asset_stream_with_arbitrary_contents(max_copy, data):
    """A real OLE container whose FileAssetMetaData3 stream holds fuzzed bytes (same length)."""
    import olefile

    with olefile.OleFileIO(str(max_copy), write_mode=True) as ole:
        size = ole.get_size("FileAssetMetaData3")
        ole.write_stream("FileAssetMetaData3", data.draw(st.binary(min_size=size, max_size=size)))
    try:
        scan_scene(max_copy, plugin_manager=PLUGINS, env={})
    except SceneError as exc:
        assert str(max_copy) in str(exc)


@FUZZ
@given(st.binary(max_size=2048))
def test_usda_arbitrary_bytes_after_header(data):
    scan_bytes(b"#usda 1.0\n" + data, ".usda")


@FUZZ
@given(st.binary(max_size=2048))
def test_maya_binary_arbitrary_bytes_after_header(data):
    scan_bytes(b"FOR8\0\0\0\0" + len(data).to_bytes(8, "big") + b"Maya" + data, ".mb")


@FUZZ
@given(st.binary(max_size=1024))
def test_blend_arbitrary_bytes_after_header(data):
    scan_bytes(b"BLENDER-v300" + data, ".blend")
