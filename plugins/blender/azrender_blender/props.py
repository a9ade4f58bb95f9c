"""Settings kept with the scene (so a shot re-opens with its own azrender settings) and the lists
the panel shows. (No ``from __future__ import annotations`` here: Blender reads these class
annotations as property definitions.)"""

import bpy
from bpy.props import BoolProperty, CollectionProperty, EnumProperty, IntProperty, PointerProperty, StringProperty


class AZRENDER_PG_dependency(bpy.types.PropertyGroup):
    path: StringProperty(name="Path")
    kind: StringProperty(name="Kind")
    source: StringProperty(name="Used by")
    exists: BoolProperty(name="Exists")
    refused: StringProperty(name="Refused", description="Why this file is not sent (a system or credential file, a pipe...)")


class AZRENDER_PG_job(bpy.types.PropertyGroup):
    job_id: StringProperty(name="Job")
    backend: StringProperty(name="Backend")
    state: StringProperty(name="Status")
    failure: StringProperty(name="First failure", description="The first failed task and its last lines")
    download_dir: StringProperty(name="Outputs", subtype="DIR_PATH")
    frames: StringProperty(name="Frames", description="Per frame, one a line: verified with its files, missing, "
                                                      "failed, rendering or waiting")


class AZRENDER_PG_settings(bpy.types.PropertyGroup):
    profile: StringProperty(name="Profile", description="Settings profile from azrender's config.toml (empty: default)")
    backend: EnumProperty(name="Backend", default="AUTO", items=[
        ("AUTO", "Automatic", "The Azure pool when an Azure Batch account is configured, else this machine"),
        ("BATCH", "Azure Batch", "Render on the profile's Azure Batch pool"),
        ("LOCAL", "This machine", "Render here, with this Blender and all cores (no Azure needed)"),
    ])
    storage_mode: EnumProperty(name="Storage", default="PROFILE", items=[
        ("PROFILE", "From Profile", "The profile's storage_mode in azrender's config.toml (default: Copy)"),
        ("COPY", "Copy", "Nodes copy the assets from Blob storage into their cache"),
        ("BLOBFUSE", "Blobfuse", "Nodes mount the Blob container"),
        ("FILESHARE", "Azure Files", "Nodes mount an Azure Files share"),
    ])
    use_scene_frames: BoolProperty(name="Scene Frame Range", default=True,
                                   description="Render the scene's frame range (start, end, step)")
    frames: StringProperty(name="Frames", default="1-10", description="Frames to render: 1-100, 1-100x5, 1,5,10-20")
    chunk: IntProperty(name="Chunk Size", default=1, min=1, description="Frames per task")
    device: EnumProperty(name="Cycles Device", default="CPU", items=[
        ("CPU", "CPU", "Render on the node's CPU"),
        ("CUDA", "CUDA", "NVIDIA GPUs; a node without one fails the task (no silent CPU render)"),
        ("OPTIX", "OptiX", "NVIDIA RTX GPUs; a node without one fails the task (no silent CPU render)"),
        ("HIP", "HIP", "AMD GPUs; a node without one fails the task (no silent CPU render)"),
        ("ONEAPI", "oneAPI", "Intel GPUs; a node without one fails the task (no silent CPU render)"),
    ])
    allow_missing: BoolProperty(name="Allow Missing Files", default=False,
                                description="Submit even when files are missing (they will render without them)")
    dependencies: CollectionProperty(type=AZRENDER_PG_dependency)
    dependency_index: IntProperty()
    jobs: CollectionProperty(type=AZRENDER_PG_job)
    job_index: IntProperty()


CLASSES = (AZRENDER_PG_dependency, AZRENDER_PG_job, AZRENDER_PG_settings)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.azrender = PointerProperty(type=AZRENDER_PG_settings)


def unregister():
    del bpy.types.Scene.azrender
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
