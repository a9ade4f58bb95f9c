"""The real components the suite relies on are present and usable (CI fails if not)."""

from conftest import run_blender


def test_azurite_stores_and_returns_a_blob(azurite, container):
    blob = azurite.blob_service().get_blob_client(container, "hello/é world.txt")
    blob.upload_blob(b"bytes")
    assert blob.download_blob().readall() == b"bytes"


def test_blender_runs_python_headless(blender):
    proc = run_blender(blender, "--python-expr", "import bpy; print('VERSION', bpy.app.version_string)")
    assert "VERSION 3." in proc.stdout or "VERSION 4." in proc.stdout
