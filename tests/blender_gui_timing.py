"""Inside Blender's GUI (under Xvfb): submit the open scene through the add-on, as the Submit
button does, while a 10 ms timer measures how long the main thread is away between its ticks
(wall time, and the main thread's own CPU time: a loaded machine stretches the first, only our
work grows the second). Prints ``RESULT {json}`` and quits once the job is in the list and done.
"""

import json
import time

import bpy

from azrender_blender import ops

gaps = []  # (wall seconds, main-thread CPU seconds) between consecutive ticks
state = {"started": None, "last": None, "phase": "waiting", "deadline": time.monotonic() + 600}


def window_context():
    window = bpy.context.window_manager.windows[0]
    area = max(window.screen.areas, key=lambda a: a.width * a.height)
    return {"window": window, "screen": window.screen, "area": area,
            "region": next(r for r in area.regions if r.type == "WINDOW")}


def finish(outcome):
    wall = max((g[0] for g in gaps), default=0.0)
    cpu = max((g[1] for g in gaps), default=0.0)
    settings = bpy.context.scene.azrender
    print("RESULT " + json.dumps({"outcome": outcome, "ticks": len(gaps), "max_gap": wall, "max_cpu": cpu,
                                  "jobs": [[j.job_id, j.state] for j in settings.jobs], "job_index": settings.job_index,
                                  "deps_on_open": state.get("deps_on_open"),
                                  "longest": sorted(((round(w, 3), round(c, 3), i) for i, (w, c) in enumerate(gaps)),
                                                    reverse=True)[:5]}), flush=True)
    bpy.ops.wm.quit_blender()


def tick():
    now = (time.perf_counter(), time.thread_time())
    if state["last"] is not None and state["phase"] != "waiting":
        gaps.append((now[0] - state["last"][0], now[1] - state["last"][1]))
    if state["phase"] == "waiting":
        state["phase"] = "submitting"
        settings = bpy.context.scene.azrender
        state["deps_on_open"] = len(settings.dependencies)  # listed when the file opened, no Refresh
        settings.backend, settings.use_scene_frames, settings.frames = "LOCAL", False, "1"
        state["last"] = (time.perf_counter(), time.thread_time())
        with bpy.context.temp_override(**window_context()):
            state["started"] = bpy.ops.azrender.submit("EXEC_DEFAULT")  # the dialog's Submit button
        after = (time.perf_counter(), time.thread_time())
        gaps.append((after[0] - state["last"][0], after[1] - state["last"][1]))  # execute() itself
        state["last"] = after
        return 0.01
    state["last"] = now
    jobs = bpy.context.scene.azrender.jobs
    submitted = bool(jobs) and not any(not work.poll().finished for work in ops._submitting)
    if submitted and jobs[-1].state.startswith(ops.FINAL_STATES):
        finish(sorted(state["started"]))
        return None
    if time.monotonic() > state["deadline"]:
        finish("timeout")
        return None
    return 0.01


bpy.app.timers.register(tick, first_interval=1.0)
