"""Blender's command line for a ``bpy`` wheel (Blender as a Python module), which has no executable:
``PYTHON bpy_blender.py -b scene.blend --python-exit-code 1 --python x.py -E CYCLES -o //out/f_#### -F PNG -x 1 -s 1 -e 8 -a``
renders the way ``blender -b`` would with those arguments, in order. ``--version`` prints
``Blender X.Y.Z`` like Blender. Standard library and ``bpy`` only: it runs in the bpy wheel's own
environment (on this machine or a render node), where azrender is not installed.
"""

from __future__ import annotations

import runpy
import sys

# Options taking one value, applied in order, as Blender does.
_VALUED = {"-b", "--background", "-E", "--engine", "-o", "--render-output", "-F", "--render-format",
           "-x", "--use-extension", "-s", "--frame-start", "-e", "--frame-end", "-f", "--render-frame",
           "--python", "-P", "--python-expr", "--python-exit-code", "-t", "--threads"}


class Failed(Exception):
    """A step failed: the message is printed and the process exits with the --python-exit-code."""


def _scene():
    import bpy

    return bpy.context.scene


def _render(first: int, last: int) -> None:
    import bpy

    scene = _scene()
    scene.frame_start, scene.frame_end = first, last
    bpy.ops.render.render(animation=True, scene=scene.name)


def _python(run, exit_code: int) -> None:
    try:
        run()
    except SystemExit:
        raise
    except BaseException:  # what Blender does: print the traceback, fail only with --python-exit-code
        import traceback

        traceback.print_exc()
        if exit_code:
            raise Failed("a Python script failed") from None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--" in args:  # what follows is for the scripts (sys.argv), as in Blender
        args = args[:args.index("--")]
    if args[:1] in (["-v"], ["--version"]):
        import bpy

        print("Blender " + ".".join(map(str, bpy.app.version)))
        return 0
    import bpy

    exit_code, i = 0, 0
    try:
        while i < len(args):
            option = args[i]
            if option in ("-a", "--render-anim"):
                scene = _scene()
                _render(scene.frame_start, scene.frame_end)
                i += 1
                continue
            if option not in _VALUED and not option.startswith("-"):
                bpy.ops.wm.open_mainfile(filepath=option)  # `blender -b FILE` and `blender FILE`
                i += 1
                continue
            if option not in _VALUED or i + 1 >= len(args):
                raise Failed(f"bpy_blender: unsupported or incomplete argument {option!r}")
            value, i = args[i + 1], i + 2
            if option in ("-b", "--background"):
                bpy.ops.wm.open_mainfile(filepath=value)
            elif option == "--python-exit-code":
                exit_code = int(value)
            elif option in ("--python", "-P"):
                _python(lambda: runpy.run_path(value, run_name="__main__"), exit_code)
            elif option == "--python-expr":
                _python(lambda: exec(compile(value, "<string>", "exec"), {"__name__": "__main__"}), exit_code)
            elif option in ("-E", "--engine"):
                _scene().render.engine = value
            elif option in ("-o", "--render-output"):
                _scene().render.filepath = value
            elif option in ("-F", "--render-format"):
                _scene().render.image_settings.file_format = {"JPG": "JPEG", "EXR": "OPEN_EXR"}.get(value, value)
            elif option in ("-x", "--use-extension"):
                _scene().render.use_file_extension = value != "0"
            elif option in ("-t", "--threads"):
                render = _scene().render
                render.threads_mode = "AUTO" if value == "0" else "FIXED"
                render.threads = max(1, int(value))
            elif option in ("-s", "--frame-start"):
                _scene().frame_start = int(value)
            elif option in ("-e", "--frame-end"):
                _scene().frame_end = int(value)
            elif option in ("-f", "--render-frame"):
                _render(int(value), int(value))
    except Failed as exc:
        print(exc, file=sys.stderr)
        return exit_code or 1
    except RuntimeError as exc:  # how bpy operators fail: a file that does not open, a render error
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
