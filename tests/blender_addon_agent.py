"""The artist's two sittings with the built add-on zip, run inside Blender:
``... blender_addon_agent.py -- ZIP SCENE FRAMES submit|preview``.

``submit``: what tests/blender_addon_user.py does (install the zip as a user does, open SCENE, submit
FRAMES from the add-on's operator), then save the scene (its job list) and quit at once: the
background agent has the upload. ``preview``: install again (background Blender keeps no
preferences), open the saved scene and let the panel's watch run until the selected job's last
frame is loaded; prints ``PREVIEW {json}`` with the image datablock's name, file, size and the
pixels at the example scene's card positions (top-down, 0-255), and what the panel draws.
"""

import json
import runpy
import sys
import time
from pathlib import Path

import bpy

ZIP, SCENE, FRAMES, MODE = sys.argv[sys.argv.index("--") + 1:]
USER = str(Path(__file__).with_name("blender_addon_user.py"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

if MODE == "submit":
    sys.argv = [sys.argv[0], "--", ZIP, SCENE, FRAMES]
    runpy.run_path(USER, run_name="__main__")  # prints RESULT
    bpy.ops.wm.save_mainfile()  # the job list is kept with the scene
    print("SAVED", time.time(), flush=True)
else:
    sys.argv = [sys.argv[0], "--", ZIP]
    user = runpy.run_path(USER, run_name="__main__")
    import build_demo  # noqa: E402  (the card positions only)

    bpy.ops.wm.open_mainfile(filepath=SCENE)
    module = sys.modules[next(name for name in sys.modules if name.endswith("azrender_blender.ops"))]
    settings = bpy.context.scene.azrender
    settings.job_index = 0  # the artist selects the job (the panel's watch starts)
    deadline = time.monotonic() + 600
    image = None
    while time.monotonic() < deadline:  # what Blender's timer does every 2 s, driven here
        module._watch_tick()
        image = bpy.data.images.get(module.PREVIEW)
        if image is not None and module._watch["work"] is None and not module._watch["more"]:
            break  # every job ended, the agent is done, the last frame is loaded
        time.sleep(0.2)
    out = {"jobs": [[j.job_id, j.backend, j.state, j.download_dir] for j in settings.jobs], "image": None}
    if image is not None:
        width, height = image.size
        pixels = image.pixels[:]

        def at(x, y):
            i = ((height - 1 - y) * width + x) * 4
            return [round(v * 255) for v in pixels[i:i + 3]]

        out["image"] = {"name": image.name, "file": image.filepath, "size": [width, height],
                        "job": image.get("azrender_job"),
                        "cards": {card: at(x, y) for card, (x, y) in build_demo.CARD_PIXELS.items()}}
    user["Layout"].drawn.clear()
    # the preview icon: its id is made by the GUI's preview job, so a background Blender may give 0
    user["Layout"].template_icon = lambda self, icon_value=0, scale=1.0: user["Layout"].drawn.append("icon")
    bpy.types.AZRENDER_PT_render.draw(user["Panel"](), bpy.context)
    out["panel"] = user["Layout"].drawn
    print("PREVIEW " + json.dumps(out))
