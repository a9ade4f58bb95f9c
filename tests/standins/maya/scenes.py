"""What Maya holds for each test scene, written by hand from the scene files: node names, types and
path attribute values as ``maya.cmds`` returns them, and each reference node's path as written.
Checked against the asset lists real Maya produced for the Deadline scenes
(``../shared/scenes/deadline_maya_*/expected_job_bundle/asset_references.yaml``). Nothing here comes
from azrender's readers, so a reader bug shows up as a difference instead of agreeing with itself.
"""

from __future__ import annotations

DEADLINE_CUBE = "D:/deadline-clients/deadline-cloud-for-maya/job_bundle_output_tests//cube/"
RENDERMAN = "/Users/rmvh/work/deadline/deadline-cloud-for-maya/job_bundle_output_tests/renderman/scene/"

# scene file name -> {"nodes": {name: (type, {long attribute name: value})}, "references": {node: path},
#                     "connections": {destination plug: [source nodes]}}
SCENES = {
    # render settings: what real Maya reported for it (expected_job_bundle/parameter_values.yaml,
    # template.yaml): Maya Software, animation off at frame 537, EXR, empty prefix, 960x540, persp
    "cube.ma": {
        "nodes": {"file1": ("file", {"fileTextureName": DEADLINE_CUBE + "deadline_logo_48x48.png"}),
                  "defaultRenderGlobals": ("renderGlobals", {"currentRenderer": "mayaSoftware", "imageFormat": 51,
                                                             "imfPluginKey": "exr"})},
        "references": {"scene_file_to_referenceRN": DEADLINE_CUBE + "scene_file_to_reference.mb"},
        "time": 537.0,
    },
    "referenced_layers.ma": {
        "nodes": {},
        "references": {"imported_scene_refRN": "ref.ma",
                       "scene_file_to_referenceRN": RENDERMAN + "scene_file_to_reference.ma"},
    },
    "TextureTest.ma": {"nodes": {"file1": ("file", {"fileTextureName": "sourceimages/grid.png"})}},
    "UsdExportUDIMTest.ma": {
        "nodes": {"file1": ("file", {"fileTextureName": "UdimTest_1001_color.png", "uvTilingMode": 3})},
    },
    "sceneWithStage.ma": {"nodes": {"stageShape1": ("mayaUsdProxyShape", {"filePath": "stage.usda"})}},
    # tests/test_maya_aovs.py: the file has no AOVs of its own; Maya holds those of the referenced
    # light rig (one switched off, one written by a driver of its own) and Merge AOVs off
    "aovs_rig.ma": {
        "nodes": {"defaultArnoldRenderOptions": ("aiOptions", {}),
                  "defaultArnoldDriver": ("aiAOVDriver", {"aiTranslator": "exr"}),
                  "rig:utilityDriver": ("aiAOVDriver", {"aiTranslator": "tif"}),
                  "defaultArnoldFilter": ("aiAOVFilter", {}),
                  "rig:aiAOV_specular": ("aiAOV", {"name": "specular"}),
                  "rig:aiAOV_crypto_object": ("aiAOV", {"name": "crypto_object"}),
                  "rig:aiAOV_sss": ("aiAOV", {"name": "sss", "enabled": False}),
                  "rig:aiAOV_N": ("aiAOV", {"name": "N"})},
        "references": {"rigRN": "light_rig.ma"},
        "connections": {"defaultArnoldRenderOptions.aovList": ["rig:aiAOV_specular", "rig:aiAOV_crypto_object",
                                                              "rig:aiAOV_sss", "rig:aiAOV_N"],
                        "rig:aiAOV_specular.outputs": ["defaultArnoldDriver", "defaultArnoldFilter"],
                        "rig:aiAOV_crypto_object.outputs": ["defaultArnoldDriver", "defaultArnoldFilter"],
                        "rig:aiAOV_sss.outputs": ["defaultArnoldDriver", "defaultArnoldFilter"],
                        "rig:aiAOV_N.outputs": ["rig:utilityDriver", "defaultArnoldFilter"]},
    },
    # tests/test_hosts_maya.py: a hand-made Maya Binary shot: Arnold, two renderable Render Setup
    # layers (a third switched off, the master layer off, a referenced scene's layer on its own
    # manager) and two renderable cameras (persp off), frames 1-3 by 2, 1920x1080
    "shots.mb": {
        "nodes": {"defaultRenderGlobals": ("renderGlobals", {
                      "currentRenderer": "arnold", "animation": True, "startFrame": 1.0, "endFrame": 3.0,
                      "byFrameStep": 2.0, "extensionPadding": 4, "imageFilePrefix": "<RenderLayer>/<Camera>/<Scene>"}),
                  "defaultResolution": ("resolution", {"width": 1920, "height": 1080}),
                  "defaultRenderLayer": ("renderLayer", {"renderable": False}),
                  "rs_beauty": ("renderLayer", {}), "rs_shadow": ("renderLayer", {}),
                  "rs_wip": ("renderLayer", {"renderable": False}),
                  "set:defaultRenderLayer": ("renderLayer", {}), "set:renderLayerManager": ("renderLayerManager", {}),
                  "perspShape": ("camera", {"renderable": False}),
                  "shotCamAShape": ("camera", {}), "shotCamBShape": ("camera", {}),
                  "defaultArnoldRenderOptions": ("aiOptions", {}),
                  "defaultArnoldDriver": ("aiAOVDriver", {"aiTranslator": "exr"})},
        "references": {"setRN": "set.ma"},
        "connections": {"rs_beauty.identification": ["renderLayerManager"],
                        "rs_shadow.identification": ["renderLayerManager"],
                        "rs_wip.identification": ["renderLayerManager"],
                        "set:defaultRenderLayer.identification": ["set:renderLayerManager"]},
        "parents": {"shotCamAShape": "shotCamA", "shotCamBShape": "shotCamB"},
        "images": "renders",
    },
}
SCENES["cube.mb"] = SCENES["cube.ma"]  # Maya holds the same, saved either way

# What every scene holds from Maya's startup (a table's nodes replace these by name).
STARTUP = {
    "nodes": {"defaultRenderGlobals": ("renderGlobals", {}), "defaultResolution": ("resolution", {}),
              "renderLayerManager": ("renderLayerManager", {}), "defaultRenderLayer": ("renderLayer", {}),
              "perspShape": ("camera", {}), "topShape": ("camera", {"renderable": False}),
              "frontShape": ("camera", {"renderable": False}), "sideShape": ("camera", {"renderable": False})},
    "connections": {"defaultRenderLayer.identification": ["renderLayerManager"]},
    "parents": {"perspShape": "persp", "topShape": "top", "frontShape": "front", "sideShape": "side"},
}

# Maya's attributes (long name -> short name, default value) of the node types these scenes use,
# and whether Maya's file path editor lists the attribute.
ATTRIBUTES = {
    "file": {"fileTextureName": ("ftn", "", True), "uvTilingMode": ("uvt", 0, False),
             "useFrameExtension": ("ufe", False, False)},
    "mayaUsdProxyShape": {"filePath": ("fp", "", True)},
    "imagePlane": {"imageName": ("imn", "", True), "useFrameExtension": ("ufe", False, False)},
    "audio": {"filename": ("f", "", True)},
    "gpuCache": {"cacheFileName": ("cfn", "", True)},
    "AlembicNode": {"abc_File": ("fn", "", True), "abc_layerFiles": ("fns", [], False)},
    "reference": {},
    # MtoA 5 (Arnold's own nodes)
    "aiOptions": {"aovMode": ("aovm", 1, False)},
    "aiAOVDriver": {"aiTranslator": ("ai_translator", "exr", False), "mergeAOVs": ("merge_AOVs", False, False)},
    "aiAOV": {"name": ("aovn", "", False), "enabled": ("aoven", True, False)},
    "aiAOVFilter": {},
    # render settings (Maya 2023 defaults; an empty string attribute reads as None)
    "renderGlobals": {"currentRenderer": ("ren", "mayaSoftware", False), "animation": ("an", False, False),
                      "startFrame": ("fs", 1.0, False), "endFrame": ("ef", 10.0, False),
                      "byFrameStep": ("bf", 1.0, False), "imageFilePrefix": ("ifp", None, False),
                      "imageFormat": ("outf", 7, False), "imfPluginKey": ("imfkey", None, False),
                      "extensionPadding": ("pad", 1, False)},
    "resolution": {"width": ("w", 960, False), "height": ("h", 540, False)},
    "renderLayer": {"renderable": ("rndr", True, False), "identification": ("rlid", 0, False)},
    "renderLayerManager": {},
    "camera": {"renderable": ("rnd", True, False)},
}
OTHER_TYPES = {"transform", "mesh", "place2dTexture", "shadingEngine"}
