"""Inside Blender's GUI (under Xvfb): submit the open scene through the add-on, as the Submit
button does, while a 10 ms timer measures how long the main thread is away between its ticks.

Each gap between two ticks records its wall time, the main thread's CPU time, the other threads'
CPU time, whether Blender drew in it (its software OpenGL threads ran) and the wall time less the
time the machine's other processes took from the main thread and the add-on's worker (Linux
schedstat: time each thread was ready to run and waited for a CPU). Phases, after Blender
settled (its first window draws are over):
``quiet`` (nothing happens: how late a timer runs on this machine), ``redraws`` (no submission,
but a report banner, the progress cursor, the status bar and the panel redrawn as often as a
submission's progress does: what Blender's own drawing costs here), ``submit`` (the operator and its background submission, until the job
is sent), ``follow`` (the job list following the render live), ``quiet_after``.
Prints ``RESULT {json}`` and quits.
"""

import json
import threading
import time

import bpy

from azrender_blender import ops

QUIET_SECONDS = 3.0
BASELINE_REDRAWS = 40  # several times as many as a submission's progress display does
SETTLE_SECONDS = 30.0  # at most: settled once a second passed without drawing or a gap over 50 ms
phases = {"quiet": [], "redraws": [], "submit": [], "follow": [], "quiet_after": []}
state = {"phase": "settle", "last": None, "until": 0.0, "started": None, "deadline": time.monotonic() + 600,
         "calm_since": None, "settle_until": time.monotonic() + SETTLE_SECONDS, "redraw_at": 0.0,
         "redraws": 0}


def gl_cpu() -> int:
    """Nanoseconds the software OpenGL (llvmpipe) threads of this Blender ran so far (schedstat):
    they run exactly when Blender draws."""
    import os

    total = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if not f.read().startswith(("llvmpipe", "gallium", "lp_")):
                    continue
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            continue
    return total


def cpu_wait(native_id) -> float:
    """Seconds thread ``native_id`` so far spent ready to run while the machine ran something else."""
    try:
        with open(f"/proc/self/task/{native_id}/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except OSError:  # the thread ended
        return 0.0


MAIN = threading.get_native_id()


def workers() -> dict:
    """The add-on's worker threads (a submission, a status poll) and their waits for a CPU."""
    return {t.native_id: cpu_wait(t.native_id) for t in threading.enumerate() if t.name == "azrender-background"}


def now():
    return time.perf_counter(), time.thread_time(), time.process_time(), gl_cpu(), cpu_wait(MAIN), workers()


def gap(before, after):
    """(wall, main-thread CPU, other threads' CPU, drew, away): ``away`` is the wall time less the
    time the main thread waited for a CPU and, while it could not run, the time the add-on's
    worker (which may hold Python's GIL) waited for one: what the machine's other processes took."""
    wall, main = after[0] - before[0], after[1] - before[1]
    main_wait = after[4] - before[4]
    worker_wait = sum(max(0.0, after[5].get(tid, 0.0) - waited) for tid, waited in before[5].items())
    away = max(0.0, wall - main_wait - min(worker_wait, max(0.0, wall - main_wait - main)))
    if after[3] > before[3]:  # and Blender's drawing: the main thread waited for the software rasterizer
        away = max(0.0, away - (after[3] - before[3]) / 1e9)
    return wall, main, max(0.0, (after[2] - before[2]) - main), int(after[3] > before[3]), away


def timed(name, function):
    """``function``, recording its wall and main-thread CPU time under ``name`` (the operator's parts)."""
    def run(*args, **kwargs):
        before = now()
        try:
            return function(*args, **kwargs)
        finally:
            took = [round(v, 3) for v in gap(before, now())]
            parts = state.setdefault("parts", {})
            parts[name] = max(parts.get(name, took), took)  # the longest call
    return run


ops.submission.capture = timed("capture", ops.submission.capture)
ops.hand_over_in_background = timed("start worker", ops.hand_over_in_background)
ops.show_frame = timed("show last frame", ops.show_frame)  # the panel's preview, while following
ops.apply_status = timed("apply status", ops.apply_status)


def window_context():
    window = bpy.context.window_manager.windows[0]
    area = max(window.screen.areas, key=lambda a: a.width * a.height)
    return {"window": window, "screen": window.screen, "area": area,
            "region": next(r for r in area.regions if r.type == "WINDOW")}


def summary(gaps):
    plain = [g for g in gaps if not g[3]]
    return {"ticks": len(gaps), "drawing": len(gaps) - len(plain),
            "max_wall": max((g[0] for g in gaps), default=0.0),
            "max_away_drawing": max((g[4] for g in gaps if g[3]), default=0.0),
            "max_wall_not_drawing": max((g[0] for g in plain), default=0.0),
            "max_away_not_drawing": max((g[4] for g in plain), default=0.0),
            "max_cpu": max((g[1] for g in gaps), default=0.0),
            "over_100ms": sum(1 for g in gaps if g[0] > 0.1),
            "longest": [[round(v, 3) for v in g] for g in sorted(gaps, key=lambda g: g[4], reverse=True)[:3]]}


def finish(outcome):
    settings = bpy.context.scene.azrender
    print("RESULT " + json.dumps({"outcome": outcome, "phases": {name: summary(g) for name, g in phases.items()},
                                  "jobs": [[j.job_id, j.state] for j in settings.jobs], "job_index": settings.job_index,
                                  "deps_on_open": state.get("deps_on_open"), "settled": state.get("settled"),
                                  "operator": state.get("operator"), "parts": state.get("parts")}), flush=True)
    bpy.ops.wm.quit_blender()


def submitted():
    jobs = bpy.context.scene.azrender.jobs
    return bool(jobs) and not any(not work.poll().finished for work in ops._submitting)


class Report(bpy.types.Operator):
    """Shows a report banner in the status bar, as the Submit button does"""

    bl_idname = "wm.azrender_timing_report"
    bl_label = "Report"

    def execute(self, context):
        self.report({"INFO"}, "azrender: a baseline report")
        return {"FINISHED"}


bpy.utils.register_class(Report)


def status(text, count=0):
    """What a submission's progress display does, without submitting."""
    with bpy.context.temp_override(**window_context()):
        wm = bpy.context.window_manager
        if count == 1:
            bpy.ops.wm.azrender_timing_report()
            wm.progress_begin(0, 100)
        if text is None:
            wm.progress_end()
        else:
            wm.progress_update(count * 4)
        bpy.context.workspace.status_text_set(text)
        ops._redraw(bpy.context)


def tick():
    current = now()
    phase = state["phase"]
    if phase in phases and state["last"] is not None:
        phases[phase].append(gap(state["last"], current))
    elif phase == "settle" and state["last"] is not None and (current[0] - state["last"][0] > 0.05
                                                              or current[3] > state["last"][3]):
        state["calm_since"] = time.monotonic()  # still drawing its first frames
    state["last"] = current
    clock = time.monotonic()
    if clock > state["deadline"]:
        finish("timeout")
        return None
    if phase == "settle":
        if state["calm_since"] is None:
            state["calm_since"] = clock
        if "deps_on_open" not in state:
            state["deps_on_open"] = len(bpy.context.scene.azrender.dependencies)  # listed when the file opened
        calm = clock - state["calm_since"] > 1.0
        if calm or clock > state["settle_until"]:
            state["settled"] = calm
            state["phase"], state["until"] = "quiet", clock + QUIET_SECONDS
    elif phase == "quiet" and clock > state["until"]:
        state["phase"] = "redraws"
    elif phase == "redraws" and state["redraws"] < BASELINE_REDRAWS:
        if clock > state["redraw_at"]:  # what the submission's progress display does
            state["redraw_at"] = clock + ops.POLL_SECONDS
            state["redraws"] += 1
            status(f"azrender baseline {state['redraws']}", state["redraws"])
    elif phase == "redraws":
        status(None)
        state["phase"] = "submit"
        settings = bpy.context.scene.azrender
        settings.backend, settings.use_scene_frames, settings.frames = "LOCAL", False, "1"
        before = now()
        with bpy.context.temp_override(**window_context()):
            state["started"] = bpy.ops.azrender.submit("EXEC_DEFAULT")  # the dialog's Submit button
        after = now()
        phases["submit"].append(gap(current, after))  # execute() itself
        state["operator"] = [round(v, 3) for v in gap(before, after)]
        state["last"] = after
    elif phase == "submit" and submitted():
        state["phase"] = "follow"
    elif phase == "follow" and bpy.context.scene.azrender.jobs[-1].state.startswith(ops.FINAL_STATES):
        state["phase"], state["until"] = "quiet_after", clock + QUIET_SECONDS
    elif phase == "quiet_after" and clock > state["until"]:
        finish(sorted(state["started"]))
        return None
    return 0.01


bpy.app.timers.register(tick, first_interval=1.0)
