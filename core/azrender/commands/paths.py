"""``azrender paths SCENE``: where every file the scene needs is stored and found on the node."""

from __future__ import annotations

HELP = "show each dependency's local path, storage key and node path for a storage mode and node OS"


def register(parser) -> None:
    from azrender import layout

    parser.add_argument("scene", help="the scene file (.blend, .ma, .mb, .max)")
    parser.add_argument("--storage", choices=("copy", "blobfuse", "fileshare"), default="copy",
                        help="how assets reach the node (default: copy)")
    parser.add_argument("--os", dest="node_os", choices=("linux", "windows"), default="linux",
                        help="the render node's OS (default: linux)")
    parser.add_argument("--mount-path", default=layout.DEFAULT_MOUNT_PATH,
                        help="relativeMountPath of the pool's blobfuse / Azure Files mount (default: %(default)s)")
    parser.add_argument("--prefix", default="", help="the store prefix inside the container or share")
    parser.add_argument("--share", help="fileshare on Windows: drive letter (S:) or UNC path of the share")
    parser.add_argument("--project", help="the project folder (default: found from the scene)")
    parser.add_argument("--search-path", action="append", default=[], metavar="DIR",
                        help="folder where discovery also looks for missing files (repeatable)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    import json
    from pathlib import Path

    from azrender.discovery.scan import scan_scene
    from azrender.errors import MissingAssetsError, UsageError, ValidationError
    from azrender.paths.mapping import check_portability, map_dependencies, rules_for
    from azrender.paths.model import map_local
    from azrender.paths.roots import asset_roots, storage_key
    from azrender.paths.submission import copy_key
    from azrender.pipeline import SubmitRequest

    scene = Path(args.scene).resolve()
    if not scene.is_file():
        raise UsageError(f"{args.scene}: no such scene file")
    report = scan_scene(scene, search_paths=tuple(Path(p) for p in args.search_path),
                        project=Path(args.project) if args.project else None)
    where = {"mount_path": args.mount_path, "store_prefix": args.prefix, "share": args.share}
    roots = asset_roots(str(scene), report.dependencies, project=args.project)
    submission = SubmitRequest(scene=scene, storage_mode=args.storage, node_os=args.node_os,
                               project=Path(args.project) if args.project else None)
    rules = rules_for(submission, roots, storage_mode=args.storage, node_os=args.node_os, **where)
    mapped = map_dependencies(report, roots, storage_mode=args.storage, node_os=args.node_os, rules=rules, **where)
    problems = check_portability(mapped, args.node_os)
    scene_key = storage_key(str(scene), roots)
    scene_row = {"local_path": str(scene), "key": scene_key, "copy_key": copy_key(scene_key),
                 "node_path": (map_local(str(scene), rules) or (None, None))[1]}

    if args.json:
        print(json.dumps({
            "version": 1, "storage_mode": args.storage, "node_os": args.node_os, "scene": scene_row,
            "roots": [{"alias": r.alias, "prefix": r.prefix} for r in roots],
            "rules": [r.to_json() for r in rules],
            "dependencies": [m.to_json() for m in mapped],
            "missing": report.missing, "problems": problems,
        }, indent=2))
    else:
        _print_table(scene_row, mapped)
    if report.missing:
        raise MissingAssetsError(f"{scene.name}: {len(report.missing)} file(s) not found: "
                                 + ", ".join(report.missing[:5]) + (" ..." if len(report.missing) > 5 else ""),
                                 missing=report.missing)
    if problems:
        raise ValidationError(f"{len(problems)} path problem(s) on a {args.node_os} node:\n  " + "\n  ".join(problems))
    return 0


def _print_table(scene_row: dict, mapped) -> None:
    print(f"scene  {scene_row['local_path']}\n  key  {scene_row['key']} (submitted as {scene_row['copy_key']})\n"
          f"  node {scene_row['node_path']}")
    for item in mapped:
        state = "" if item.dependency.exists else "  (MISSING)"
        print(f"{item.dependency.kind.value:<9} {item.local_path}{state}\n  key  {item.key or '-'}\n  node {item.node_path or '-'}")
