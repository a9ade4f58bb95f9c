"""Render settings read from the scene (headless): Blender through its own saved file, Maya checked
against what real Maya reported for the shared Deadline scenes, and the files each task must write."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest

from azrender.rendersettings.maya import read_maya_settings
from azrender.rendersettings.model import TaskSet, task_sets
from azrender.rendersettings.outputs import expected_outputs, frame_name, relative_template
from conftest import REPO, SHARED_SCENES


@pytest.fixture(scope="module")
def settings_blend(blender, tmp_path_factory):
    path = tmp_path_factory.mktemp("settings") / "shot.blend"
    subprocess.run([blender, "-b", "--factory-startup", "--python-exit-code", "1", "--python",
                    str(REPO / "tests" / "blender_render_settings_scene.py"), "--", str(path)],
                   check=True, capture_output=True, timeout=120)
    return path


def test_blend_settings_are_the_scenes(settings_blend):
    from azrender.rendersettings.blend import read_blend_settings

    s = read_blend_settings(settings_blend)
    assert (s.renderer, s.frames, s.output_path) == ("CYCLES", "3-7x2", "//render/sh010_beauty_")
    fmt = s.image_format
    assert (fmt.kind, fmt.extension, fmt.color_depth, fmt.codec, fmt.multilayer) == ("OPEN_EXR_MULTILAYER", "exr", "16", "ZIP", True)
    assert [(layer.name, layer.renderable) for layer in s.layers] == [("fg", True), ("bg", True), ("off", False)]
    assert s.layers[0].passes == ("Combined", "Depth", "Normal") and s.layers[1].passes == ("Combined", "Mist")
    assert (s.resolution, s.resolution_percentage, s.cameras) == ((64, 48), 50, ("Camera",))
    assert [(m.frame, m.camera) for m in s.camera_markers] == [(5, "Cam2")]
    cm = s.color_management
    assert (cm.view_transform, cm.look, cm.display_device) == ("Filmic", "None", "sRGB")  # Blender 3.4's defaults
    assert [(n.name, n.paths, n.image_format.kind) for n in s.file_outputs] == [
        ("File Output", ("//comp/depth_", "//comp/alpha_"), "PNG")]
    assert task_sets(s) == (TaskSet(),)  # Blender renders every view layer in one run
    assert [e.path for e in expected_outputs(s, TaskSet(), [3, 5])] == [
        "render/sh010_beauty_0003.exr", "render/sh010_beauty_0005.exr",
        "comp/depth_0003.png", "comp/depth_0005.png", "comp/alpha_0003.png", "comp/alpha_0005.png"]


def test_blender_file_names():
    assert relative_template("//render/sh010_") == "render/sh010_"
    assert relative_template("//../out/./x_") == "out/x_"
    assert relative_template("/tmp/") == "" and relative_template("C:\\renders\\shot_") == "shot_"
    assert frame_name("shot_##_v#.x", 7) == "shot_##_v7.x" and frame_name("f_###", 12) == "f_012"
    assert frame_name("", 3) == "0003"
    assert frame_name("r_##/b_", 1) == "r_##/b_0001"  # Blender ignores "#" in folders


# File Output nodes as Blender 5.0.1, 4.5, 4.2 and 3.4 named their files when rendered by hand (frame 1;
# every input in the node's format here): (version, folder, file name or None for 3.x/4.x,
# multilayer, [(slot path / item name, linked)]) -> files.
RENDERED_FILE_OUTPUTS = [
    ((5, 0), "//comp/", "shot_", False, [("beauty", True), ("alpha", True)], ["comp/shot_beauty0001.png", "comp/shot_alpha0001.png"]),
    ((5, 0), "//comp", "shot_", False, [("beauty", True), ("alpha", False)], ["comp/shot_beauty0001.png"]),
    ((5, 0), "//comp/", "", False, [("beauty", True)], ["comp/beauty0001.png"]),
    ((5, 0), "//comp/", "shot_##_x", False, [("alpha", True)], ["comp/shot_01_xalpha.png"]),
    ((5, 0), "//comp/", "shot_", False, [("b_###_", True)], ["comp/shot_b_001_.png"]),
    ((5, 0), "//comp/", "shot_", True, [("beauty", True), ("alpha", False)], ["comp/shot_0001.exr"]),
    ((5, 0), "//comp", "", True, [("beauty", True)], ["comp/0001.exr"]),
    ((5, 0), "//comp/", "shot_", True, [("beauty", False)], []),
    ((4, 5), "//comp/", None, False, [("beauty_##_x", True), ("alpha_", False)], ["comp/beauty_01_x.png"]),
    ((4, 5), "//comp/ml_", None, True, [("Image", False)], ["comp/ml_0001.exr"]),  # 4.5 writes it anyway
    ((4, 2), "//comp/ml_", None, True, [("Image", False)], []),
    ((3, 4), "//comp/ml_", None, True, [("Image", True)], ["comp/ml_0001.exr"]),
]


@pytest.mark.parametrize("version,folder,file_name,multilayer,inputs,written", RENDERED_FILE_OUTPUTS)
def test_file_output_nodes_are_named_as_each_blender_wrote_them(version, folder, file_name, multilayer, inputs, written):
    from azrender.rendersettings.blend import named_format, node_file_outputs
    from azrender.rendersettings.model import RenderSettings

    fmt = named_format("OPEN_EXR_MULTILAYER" if multilayer else "PNG")
    nodes = node_file_outputs("File Output", version, folder, file_name, fmt, [(name, linked, None) for name, linked in inputs])
    settings = RenderSettings("blender", "CYCLES", 1, 1, output_path="//render/", file_outputs=nodes)
    assert [e.path for e in expected_outputs(settings, TaskSet(), [1]) if e.source != "beauty"] == written


def _deadline(scene_dir):
    """What the AWS Deadline Cloud submitter wrote inside real Maya."""
    bundle = scene_dir / "expected_job_bundle"
    values = (bundle / "parameter_values.yaml").read_text()
    template = (bundle / "template.yaml").read_text()

    def value(name):
        return re.search(rf"- name: {name}\n  value: '?([^'\n]*)'?", values).group(1)

    return {"renderer": re.search(r"renderer: (\S+)", template).group(1),
            "layer": re.search(r"render_layer: (\S+)", template).group(1),
            "cameras": re.findall(r"- name: Camera\n      type: STRING\n      range:\n((?:      - \S+\n)+)", template)[0].split(),
            "frames": value("Frames"), "prefix": value("OutputFilePrefix"),
            "size": (int(value("ImageWidth")), int(value("ImageHeight")))}


@pytest.mark.parametrize("name,scene", [("deadline_maya_cube", "cube.ma"),
                                        ("deadline_maya_referenced_layers", "referenced_layers.ma")])
def test_maya_settings_match_real_maya(name, scene):
    truth = _deadline(SHARED_SCENES / name)
    s = read_maya_settings(SHARED_SCENES / name / "scene" / scene)
    from azrender.rendersettings.outputs import maya_layer_name

    assert s.renderer == truth["renderer"]
    assert s.frames == truth["frames"]
    assert [maya_layer_name(layer.name) for layer in s.renderable_layers] == [truth["layer"]]
    assert [c for c in truth["cameras"] if c != "-"] == list(s.cameras)
    assert (s.output_path or "<Scene>") == truth["prefix"]
    assert s.resolution == truth["size"]


LAYERED_MA = """//Maya ASCII 2024 scene
//Codeset: UTF-8
requires maya "2024";
createNode transform -s -n "persp";
createNode camera -s -n "perspShape" -p "persp";
\tsetAttr -k off ".v" no;
\tsetAttr ".rnd" no;
createNode transform -n "shotCam";
createNode camera -n "shotCamShape" -p "shotCam";
createNode transform -n "witness";
createNode camera -n "witnessShape" -p "witness";
createNode transform -s -n "top";
createNode camera -s -n "topShape" -p "top";
\tsetAttr ".rnd" no;
createNode renderLayerManager -n "renderLayerManager";
\tsetAttr -s 4 ".rlmi[1:3]"  1 2 3;
createNode renderLayer -n "defaultRenderLayer";
\tsetAttr ".g" yes;
\tsetAttr ".rndr" no;
createNode renderLayer -n "rs_chars";
createNode renderLayer -n "rs_env";
createNode renderLayer -n "rs_off";
\tsetAttr ".rndr" no;
createNode renderSetupLayer -n "chars";
createNode renderSetupLayer -n "env";
createNode renderLayerManager -n "ref:renderLayerManager";
createNode renderLayer -n "ref:defaultRenderLayer";
select -ne :time1;
\tsetAttr ".o" 12;
select -ne :defaultRenderGlobals;
\tsetAttr ".ren" -type "string" "vray";
\tsetAttr ".an" yes;
\tsetAttr ".fs" 101;
\tsetAttr ".ef" 104;
\tsetAttr ".ifp" -type "string" "<RenderLayer>/<Scene>_<Camera>";
\tsetAttr ".outf" 51;
\tsetAttr ".imfkey" -type "string" "exr";
\tsetAttr ".pad" 4;
select -ne :defaultResolution;
\tsetAttr ".w" 2048;
\tsetAttr ".h" 858;
connectAttr "renderLayerManager.rlmi[0]" "defaultRenderLayer.rlid";
connectAttr "renderLayerManager.rlmi[1]" "rs_chars.rlid";
connectAttr "renderLayerManager.rlmi[2]" "rs_env.rlid";
connectAttr "renderLayerManager.rlmi[3]" "rs_off.rlid";
connectAttr "ref:renderLayerManager.rlmi[0]" "ref:defaultRenderLayer.rlid";
"""


def test_maya_layers_and_cameras_give_one_task_set_each(tmp_path):
    scene = tmp_path / "sh020.ma"
    scene.write_text(LAYERED_MA)
    s = read_maya_settings(scene)
    assert (s.renderer, s.frames, s.resolution) == ("vray", "101-104", (2048, 858))
    assert [layer.name for layer in s.renderable_layers] == ["rs_chars", "rs_env"]
    assert s.cameras == ("shotCam", "witness")
    sets = task_sets(s)
    assert [(t.layer, t.camera) for t in sets] == [("rs_chars", "shotCam"), ("rs_chars", "witness"),
                                                   ("rs_env", "shotCam"), ("rs_env", "witness")]
    assert [e.path for e in expected_outputs(s, sets[1], [101, 102])] == [
        "chars/sh020_witness.0101.exr", "chars/sh020_witness.0102.exr"]


@pytest.mark.parametrize("name,scene", [("deadline_maya_cube", "cube.ma"),
                                        ("deadline_maya_referenced_layers", "referenced_layers.ma")])
def test_maya_dry_run_of_the_deadline_scenes_renders_what_real_maya_read(name, scene, run_cli, tmp_path):
    truth = _deadline(SHARED_SCENES / name)
    shot = tmp_path / name
    shutil.copytree(SHARED_SCENES / name, shot)
    proc = run_cli("submit", shot / "scene" / scene, "--dry-run", "--json", "--backend", "batch", "--pool", "p",
                   "--storage-url", "https://acct.blob.core.windows.net/renders")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    cameras = [c for c in truth["cameras"] if c != "-"]
    assert [t["id"] for t in doc["tasks"]] == [f"defaultRenderLayer-{c}-frames-{int(truth['frames']):04d}" for c in cameras]
    renderer = {"mayaSoftware": "sw"}.get(truth["renderer"], truth["renderer"])  # Render -r's name for it
    for task, camera in zip(doc["tasks"], cameras):
        f = truth["frames"]
        assert (f"Render -r {renderer} -s {f} -e {f} " in task["commandLine"]
                and f" -rl defaultRenderLayer -cam {camera} " in task["commandLine"]), task["commandLine"]  # masterLayer
        # animation off: Maya writes <prefix>.<ext>, <Scene> the artist's file (the node opens a copy)
        prefix = truth["prefix"].replace("<Scene>", scene[:-3])
        ext = doc["render"]["settings"]["image_format"]["extension"]
        assert doc["render"]["expected_outputs"][task["id"]] == [f"{prefix}.{ext}"]
        assert f" -im {prefix} " in task["commandLine"]


def test_verify_names_missing_and_empty_outputs(tmp_path):
    (tmp_path / "out" / "render").mkdir(parents=True)
    (tmp_path / "out" / "render" / "a_0001.exr").write_bytes(b"x")
    (tmp_path / "out" / "render" / "a_0002.exr").write_bytes(b"")
    frames = {str(n): [f"render/a_{n:04d}.exr"] for n in (1, 2, 3)}
    (tmp_path / "outputs.json").write_text(json.dumps({"version": 1, "tasks": {
        "frames-0001-0003": {"set": "", "frames": frames},
        "bg-frames-0001-0003": {"set": "bg", "frames": {"1": ["render/bg_0001.exr"]}}}}))

    def verify(task):
        return subprocess.run([sys.executable, "-m", "azrender.node", "verify", "outputs.json", task],
                              cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(REPO / "core")})

    run = verify("frames-0001-0003")
    assert run.returncode == 5
    assert "did not write 2 of its 3 expected file(s): render/a_0002.exr (empty), render/a_0003.exr" in run.stderr
    # a retry chunks its frames otherwise: its task is held to those frames of its own task set
    assert verify("frames-0001").returncode == 0
    run = verify("frames-0003")
    assert run.returncode == 5 and "did not write 1 of its 1 expected file(s): render/a_0003.exr" in run.stderr


def test_maya_dry_run_has_one_task_set_per_layer_and_camera(run_cli, tmp_path):
    scene = tmp_path / "sh020.ma"
    scene.write_text(LAYERED_MA)
    proc = run_cli("submit", scene, "--dry-run", "--json", "--chunk", "2", "--backend", "batch", "--pool", "p",
                   "--storage-url", "https://acct.blob.core.windows.net/renders")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    ids = [t["id"] for t in doc["tasks"]]
    assert ids == [f"{layer}-{cam}-frames-{run}" for layer in ("rs_chars", "rs_env") for cam in ("shotCam", "witness")
                   for run in ("0101-0102", "0103-0104")]
    command = doc["tasks"][6]["commandLine"]  # rs_env x witness, frames 101-102
    assert "Render -r vray -s 101 -e 102 -rd \"${AZ_BATCH_TASK_WORKING_DIR}/out\" -im " in command
    assert "<RenderLayer>/sh020_<Camera>" in command and " -rl rs_env -cam witness " in command
    assert command.rstrip("'").endswith(f'/outputs.json" {ids[6]}') and " verify " in command
    plan = doc["render"]
    assert plan["settings"]["renderer"] == "vray" and plan["settings"]["frame_start"] == 101
    # <Scene> is the artist's file (-im spells it: the node opens a copy of another name)
    assert plan["expected_outputs"][ids[6]] == ["env/sh020_witness.0101.exr", "env/sh020_witness.0102.exr"]


def test_the_blender_addon_collects_the_same_settings_as_the_file_says(settings_blend, blender):
    """The add-on's in-app collector (bpy) and the headless reader (the saved file) agree."""
    from azrender.rendersettings.blend import read_blend_settings

    import sysconfig

    script = ("import json, sys; sys.path[:0] = [%r, %r, %r]; from azrender_blender import render_settings; "
              "print('RESULT ' + json.dumps(render_settings.collect().to_json()))"
              % (str(REPO / "core"), str(REPO / "plugins" / "blender"), sysconfig.get_paths()["purelib"]))
    proc = subprocess.run([blender, "-b", str(settings_blend), "--python-exit-code", "1", "--python-expr", script],
                          capture_output=True, text=True, timeout=120)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert line, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert json.loads(line[0][len("RESULT "):]) == read_blend_settings(settings_blend).to_json()


def test_a_submission_handed_to_the_agent_keeps_the_collected_settings_and_overrides(tmp_path):
    from azrender.agent import decode, encode
    from azrender.pipeline import SubmitRequest
    from azrender.rendersettings.model import FileOutput, ImageFormat, Overrides

    scene = tmp_path / "sh020.ma"
    scene.write_text(LAYERED_MA)
    collected = read_maya_settings(scene)
    collected = replace(collected, file_outputs=(FileOutput("Reflection", ("c:/r/x_refl.exr",), ImageFormat("exr", "exr")),))
    request = SubmitRequest(scene, render_settings=collected, overrides=Overrides(resolution_percentage=50), device="OPTIX")
    back = decode(json.loads(json.dumps(encode(request))))
    assert (back.render_settings, back.overrides, back.device) == (collected, Overrides(resolution_percentage=50), "OPTIX")


# defaultRenderGlobals.currentRenderer -> the name Maya's Render takes after -r (Maya's Render -help)
RENDER_NAMES = {"mayaSoftware": "sw", "mayaHardware2": "hw2", "arnold": "arnold", "renderman": "renderman",
                "vray": "vray", "redshift": "redshift"}


@pytest.mark.parametrize("current,flag", sorted(RENDER_NAMES.items()))
def test_each_maya_renderer_gets_its_render_flag(current, flag):
    from azrender.jobs.commands import RenderChunk, render_argv

    argv = render_argv("maya", RenderChunk(scene="shot.ma", first=1, last=2, output_dir="out", renderer=current,
                                           output_name="<Scene>", layer="rs_a", camera="cam"))
    assert argv[:3] == ["Render", "-r", flag] and argv[-1] == "shot.ma"
    assert argv[argv.index("-im") + 1] == "<Scene>" and argv[argv.index("-rl") + 1] == "rs_a"


def test_maya_flags_before_the_attribute_do_not_hide_its_value(tmp_path):
    # as Maya writes them for keyable attributes: `setAttr -k on ".ren" -type "string" "arnold";`
    scene = tmp_path / "keyable.ma"
    scene.write_text('//Maya ASCII 2024 scene\nselect -ne :defaultRenderGlobals;\n\tsetAttr -k on ".ren" -type "string" '
                     '"arnold";\n\tsetAttr -cb on ".an";\n\tsetAttr -k on ".fs" 5;\n\tsetAttr -av -k on ".outf";\n'
                     'select -ne :time1;\n\tsetAttr -av -k on ".o" 7;\n')
    s = read_maya_settings(scene)
    assert (s.renderer, s.animation, s.frames, s.image_format.extension) == ("arnold", False, "7", "exr")
