"""The render watchdog on the node: runs the renderer, passes its output through, and kills it when
it hangs or runs away, with an exit code that says which (Batch then retries the task)::

    python3 azrender_node.pyz watch --outputs out [--hang auto|SECONDS] [--hang-floor S] [--max-frame S] -- blender ...

- **hung**: no new or growing file under ``--outputs`` and no output line for the hang limit.
  ``auto`` (the default) is ``HANG_FACTOR`` times the longest frame this job took on this node so
  far (measured here, shared between the job's tasks on the node), never below ``--hang-floor``;
  before any frame was measured, ``UNMEASURED_HANG`` (never below the floor either).
- **runaway**: one frame (from the start, or from the previous frame's file) took longer than
  ``--max-frame`` although the renderer kept talking.

Standard library only; Linux and Windows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

HUNG_EXIT_CODE = 91
RUNAWAY_EXIT_CODE = 92
EXIT_REASONS = {
    HUNG_EXIT_CODE: "hung: the renderer wrote no output file and no log line for too long, killed",
    RUNAWAY_EXIT_CODE: "runaway: a frame took longer than the maximum time per frame, killed",
}
HANG_FACTOR = 3
DEFAULT_FLOOR = 300
UNMEASURED_HANG = 1800
POLL = 0.25


def register(parser) -> None:
    parser.add_argument("--outputs", default="out", help="folder the renderer writes frames to")
    parser.add_argument("--hang", default="auto", help="seconds without output or log line, or 'auto'")
    parser.add_argument("--hang-floor", type=float, default=DEFAULT_FLOOR, help="lowest automatic hang limit")
    parser.add_argument("--max-frame", type=float, help="longest time one frame may take")
    parser.add_argument("--times", help="file where this node keeps the job's frame times (default: none)")
    parser.add_argument("--expected", help="the plan's outputs.json: upload each frame once finished (see frames.py)")
    parser.add_argument("--task", help="this task's id in --expected")
    parser.add_argument("--upload-to", help="the outputs store URL, without SAS (the SAS comes from the environment)")
    parser.add_argument("--upload-prefix", default="", help="key of the job's output folder in that store")
    parser.add_argument("--identity", help="the pool's managed identity for the outputs store (instead of a SAS)")
    parser.add_argument("renderer", nargs="+", help="the renderer's command line (after --)")


def _scan(folder: str) -> dict[str, tuple[int, int]]:
    found = {}
    for base, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            found[path] = (st.st_size, st.st_mtime_ns)
    return found


def _measured(times_file: str | None) -> float:
    try:
        with open(times_file, encoding="utf-8") as f:
            return max((float(line) for line in f if line.strip()), default=0.0)
    except (OSError, TypeError, ValueError):
        return 0.0


def _record(times_file: str | None, seconds: float) -> None:
    if not times_file:
        return
    try:
        os.makedirs(os.path.dirname(times_file) or ".", exist_ok=True)
        with open(times_file, "a", encoding="utf-8") as f:
            f.write(f"{seconds:.1f}\n")
    except OSError:
        pass  # the measure is a convenience; the render must not fail for it


class Watch:
    def __init__(self, hang: float | None, floor: float, max_frame: float | None, times_file: str | None):
        self.fixed_hang, self.floor, self.max_frame, self.times_file = hang, floor, max_frame, times_file
        self.longest = _measured(times_file)
        now = time.monotonic()
        self.last_activity = self.last_frame = now
        self.lock = threading.Lock()

    def hang_limit(self) -> float:
        if self.fixed_hang is not None:
            return self.fixed_hang
        return max(self.floor, HANG_FACTOR * self.longest if self.longest else UNMEASURED_HANG)

    def activity(self) -> None:
        with self.lock:
            self.last_activity = time.monotonic()

    def frame_written(self) -> None:
        now = time.monotonic()
        with self.lock:
            took = now - self.last_frame
            self.last_frame = self.last_activity = now
            self.longest = max(self.longest, took)
        _record(self.times_file, took)

    def verdict(self) -> tuple[int, str] | None:
        now = time.monotonic()
        with self.lock:
            idle, frame = now - self.last_activity, now - self.last_frame
        limit = self.hang_limit()
        if idle > limit:
            return HUNG_EXIT_CODE, (f"azrender watch: the renderer wrote no output file and no log line for "
                                    f"{idle:.0f} s (limit {limit:.0f} s): killed as hung")
        if self.max_frame is not None and frame > self.max_frame:
            return RUNAWAY_EXIT_CODE, (f"azrender watch: a frame has taken {frame:.0f} s (limit {self.max_frame:.0f} s "
                                       "per frame): killed as runaway")
        return None


def _pump(source, sink, watch: Watch) -> None:
    for chunk in iter(lambda: source.read1(65536), b""):
        watch.activity()
        sink.write(chunk)
        sink.flush()


def _start(argv: list[str], env: dict | None = None) -> subprocess.Popen:
    """The renderer in its own process group (so all it started can be killed), dying with us."""
    if os.name == "nt":
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                creationflags=subprocess.CREATE_NEW_PROCESS_GROUP)

    def child() -> None:
        os.setpgrp()
        try:  # Linux: a SIGKILL of this watchdog (task terminated) takes the renderer along
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=child)


def _kill(proc: subprocess.Popen) -> None:
    if os.name == "nt":
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(proc.pid)], capture_output=True)
    else:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    proc.wait()


def watch(argv: list[str], *, outputs: str, hang: float | None, floor: float = DEFAULT_FLOOR,
          max_frame: float | None = None, times_file: str | None = None, env: dict | None = None,
          on_poll=None) -> int:
    """Run ``argv`` under the watchdog; ``on_poll(pgid)`` after each look at the outputs."""
    state = Watch(hang, floor, max_frame, times_file)
    seen = _scan(outputs)
    proc = _start(argv, env)
    for sig in (signal.SIGTERM, signal.SIGINT) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()):
        signal.signal(sig, lambda number, frame: (_kill(proc), sys.exit(128 + number)))
    pumps = [threading.Thread(target=_pump, args=(src, dst, state), daemon=True)
             for src, dst in ((proc.stdout, sys.stdout.buffer), (proc.stderr, sys.stderr.buffer))]
    for pump in pumps:
        pump.start()
    while True:
        try:
            code = proc.wait(timeout=POLL)
        except subprocess.TimeoutExpired:
            code = None
        now = _scan(outputs)
        new = [path for path in now if path not in seen]
        if new:
            state.frame_written()  # one frame, even when it writes several files (passes, AOVs)
        elif now != seen:
            state.activity()  # a frame file still growing
        seen = now
        if on_poll is not None and code is None:
            on_poll(proc.pid)
        if code is not None:
            for pump in pumps:
                pump.join(5)
            return code
        verdict = state.verdict()
        if verdict is not None:
            _kill(proc)
            for pump in pumps:
                pump.join(5)
            print(verdict[1], file=sys.stderr, flush=True)
            return verdict[0]


def run(args) -> int:
    from . import frames

    command = args.renderer[1:] if args.renderer[:1] == ["--"] else args.renderer
    hang = None if args.hang == "auto" else float(args.hang)
    times = os.path.expandvars(args.times) if args.times else None

    def render(argv, on_poll=None) -> int:
        return watch(argv, outputs=args.outputs, hang=hang, floor=args.hang_floor, max_frame=args.max_frame,
                     times_file=times, env=frames.renderer_env(), on_poll=on_poll)

    try:
        expected = frames.task_frames(args.expected, args.task) if args.expected and args.upload_to else {}
    except (OSError, ValueError, AttributeError) as exc:  # verify, after the render, names the problem
        print(f"azrender watch: cannot read {args.expected} ({exc}): frames upload with the task", file=sys.stderr)
        expected = {}
    if not expected:  # output names unknown: the task's Batch output file uploads them at its end
        return render(command)
    from .store import StoreError

    uploads = frames.FrameUploads(expected, frames.open_outputs_store(args.upload_to, args.identity),
                                  args.upload_prefix, out_dir=args.outputs)
    try:
        done = uploads.in_store()
    except StoreError as exc:  # e.g. a SAS without read: every frame renders, each still uploads when done
        print(f"azrender watch: cannot look in the outputs store ({exc}): rendering every frame",
              file=sys.stderr, flush=True)
        done = []
    missing = uploads.missing()
    pieces = [command]
    if done:
        narrowed = [frames.narrow(command, first, last) for first, last in frames.runs(missing)]
        if None not in narrowed:
            pieces = narrowed
            print(f"azrender watch: frame(s) {frames.describe(done)} already in the outputs store (verified): "
                  + (f"rendering {frames.describe(missing)}" if missing else "nothing to render"),
                  file=sys.stderr, flush=True)
    code = 0
    for argv in pieces:
        code = render(argv, uploads.poll)
        if code != 0:
            break
    return uploads.finish(code)
