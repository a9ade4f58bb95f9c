"""``azrender deps SCENE``: list every file a scene needs, flag the missing ones and the ones that
must not leave this machine (system and credential locations, see :mod:`azrender.private`)."""

from __future__ import annotations

HELP = "list every file a scene needs (textures, references, caches...) and flag missing ones"


def register(parser) -> None:
    parser.add_argument("scene", help="the scene file (.blend, .ma, .mb, .max, .usda)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--search-path", action="append", default=[], metavar="DIR",
                        help="also look for files here (by relative path, then by name); repeatable")
    parser.add_argument("--project", metavar="DIR",
                        help="Maya project root (default: the folder holding workspace.mel above the scene)")
    parser.add_argument("--allow-path", action="append", default=[], metavar="PATH",
                        help="do not flag files under PATH (a system or credential location sent on purpose)")


def run(args) -> int:
    import json
    import os

    from azrender.discovery.scan import scan_scene
    from azrender.errors import UsageError
    from azrender.plugins import get_plugin_manager

    for directory in args.search_path + ([args.project] if args.project else []):
        if not os.path.isdir(directory):
            raise UsageError(f"{directory}: not a folder")
    report = scan_scene(args.scene, search_paths=args.search_path, project=args.project,
                        plugin_manager=get_plugin_manager())
    from azrender.private import refused_paths

    refused = refused_paths(report, args.allow_path)
    if args.json:
        doc = report.to_json()
        for dep in doc["dependencies"]:
            dep["refused"] = refused[dep["path"]].rule if dep["path"] in refused else None
        doc["refused"] = [{"path": path, "rule": r.rule} for path, r in refused.items()]
        text = json.dumps(doc, indent=2, ensure_ascii=False)
        if _has_surrogates(text):  # a file name that is not UTF-8: keep it exact as \udcXX escapes
            text = json.dumps(doc, indent=2)
        print(text)
    else:
        import sys

        sys.stdout.reconfigure(errors="backslashreplace")  # such a name must not crash the table
        _print_table(report, refused)
    return 3 if report.missing else 6 if refused else 0


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


RICH_ROWS = 2000  # above this, or piped, plain columns: rich lays out 100,000 rows 10x slower than --json
FLAG_STYLE = {"ok": "green", "MISSING": "bold red", "REFUSED": "bold red"}
NOTE_STYLE = {"refused": "bold red", "warning": "yellow", "note": "yellow"}
HEADER = ("", "path", "size", "from", "resolved by")


def _print_table(report, refused: dict) -> None:
    import sys

    by_kind: dict = {}
    for dep in report.dependencies:
        by_kind.setdefault(dep.kind, []).append(dep)
    sections = []
    for kind, deps in by_kind.items():
        missing = sum(not d.exists for d in deps)
        title = f"{kind.value} ({len(deps)}{f', {missing} missing' if missing else ''})"
        sections.append((title, [(("REFUSED" if dep.path in refused else "ok") if dep.exists else "MISSING", dep.path,
                                   _human(dep.size) if dep.size is not None else "-", dep.source, dep.resolved_by)
                                  for dep in deps]))
    notes = ([("refused", f"{path}: {r.rule} ({r.hint})") for path, r in refused.items()]
             + [("warning", warning) for warning in report.warnings]
             + ([("note", "this scene format was read best effort; some dependencies may be missing")]
                if report.best_effort else []))
    missing = len(report.missing)
    counts = [(f"{missing} missing" if missing else "none missing", bool(missing))]
    if refused:
        counts.append((f"{len(refused)} refused", True))
    summary = (report.scene, f"{len(report.dependencies)} files, {_human(report.total_size)}", counts)
    if sys.stdout.isatty() and len(report.dependencies) <= RICH_ROWS:
        _print_rich(sections, notes, summary)
    else:
        _print_plain(sections, notes, summary)


def _print_plain(sections, notes, summary) -> None:
    import sys

    out = []
    for title, rows in sections:
        widths = [max(len(row[i]) for row in (*rows, HEADER)) for i in range(4)]
        out.append(title)
        for row in (HEADER, *rows):
            out.append(" " + " │ ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]),
                                          row[3].ljust(widths[3]), row[4]]).rstrip())
        out.append("")
    out += [f"{kind}: {text}" for kind, text in notes]
    scene, files, counts = summary
    out.append(f"{scene}: {files}, " + ", ".join(text for text, _ in counts))
    sys.stdout.write("\n".join(out) + "\n")


def _print_rich(sections, notes, summary) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    for title, rows in sections:
        table = Table(title=title, title_justify="left", show_edge=False, expand=False)
        table.add_column("", no_wrap=True)
        table.add_column("path", overflow="fold")
        table.add_column("size", justify="right", no_wrap=True)
        table.add_column("from", overflow="fold")
        table.add_column("resolved by", no_wrap=True)
        for flag, path, size, source, resolved_by in rows:
            table.add_row(f"[{FLAG_STYLE[flag]}]{flag}[/]", _escape(path), size, _escape(source), resolved_by)
        console.print(table)
        console.print()
    for kind, text in notes:
        console.print(f"[{NOTE_STYLE[kind]}]{kind}:[/] {_escape(text)}")
    scene, files, counts = summary
    console.print(f"{_escape(scene)}: {files}, " + ", ".join(f"[bold red]{t}[/]" if bad else t for t, bad in counts))


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
