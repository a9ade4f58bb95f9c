"""``azrender paths SCENE``: where every file the scene needs is stored and found on the node."""

from __future__ import annotations

HELP = "show each dependency's local path, storage key and node path for a storage mode and node OS"


def register(parser) -> None:
    from azrender import layout
    from azrender.enums import NodeOS, StorageMode

    parser.add_argument("scene", help="the scene file (.blend, .ma, .mb, .max)")
    parser.add_argument("--storage", choices=StorageMode.values(), default="copy",
                        help="how assets reach the node (default: copy)")
    parser.add_argument("--os", dest="node_os", choices=NodeOS.values(), default="linux",
                        help="the render node's OS (default: linux)")
    parser.add_argument("--mount-path", default=layout.DEFAULT_MOUNT_PATH,
                        help="relativeMountPath of the pool's blobfuse / Azure Files mount (default: %(default)s)")
    parser.add_argument("--prefix", default="", help="the store prefix inside the container or share")
    parser.add_argument("--share", help="fileshare on Windows: drive letter (S:) or UNC path of the share")
    parser.add_argument("--project", help="the project folder (default: found from the scene)")
    parser.add_argument("--search-path", action="append", default=[], metavar="DIR",
                        help="folder where discovery also looks for missing files (repeatable)")
    parser.add_argument("--write", metavar="DIR",
                        help="also write the submission copy and the node files (rules, check list, host scripts) into DIR")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    import json
    from pathlib import Path

    from azrender.discovery.scan import scan_scene
    from azrender.errors import MissingAssetsError, UsageError, ValidationError
    from azrender.paths.plan import plan_paths, write_submission_files
    from azrender.pipeline import Submission, SubmitRequest
    from azrender.plugins import get_plugin_manager

    scene = Path(args.scene).resolve()
    if not scene.is_file():
        raise UsageError(f"{args.scene}: no such scene file")
    project = Path(args.project).resolve() if args.project else None
    pm = get_plugin_manager()
    report = scan_scene(scene, search_paths=tuple(Path(p) for p in args.search_path), project=project,
                        plugin_manager=pm)
    request = SubmitRequest(scene=scene, storage_mode=args.storage, node_os=args.node_os, project=project)
    submission = Submission.paths_only(request, report)
    plan = plan_paths(report, storage_mode=args.storage, node_os=args.node_os, submission=submission,
                      project=str(project) if project else None, mount_path=args.mount_path,
                      store_prefix=args.prefix, share=args.share, plugin_manager=pm)
    written = write_submission_files(plan, Path(args.write)) if args.write else None
    if args.json:
        print(json.dumps({
            "version": 1, "storage_mode": plan.storage_mode, "node_os": plan.node_os,
            "scene": {"local_path": plan.scene, "key": plan.scene_key, "submitted_key": plan.submitted_key,
                      "node_path": plan.submitted_node_path},
            "roots": [{"alias": r.alias, "prefix": r.prefix} for r in plan.roots],
            "rules": [r.to_json() for r in plan.rules],
            "dependencies": [m.to_json() for m in plan.mapped],
            "missing": report.missing, "problems": list(plan.problems),
            "uploads": [{"local_path": local, "key": key} for local, key in written.uploads] if written else None,
            "node_files": {"rules": str(written.rules_json), "needed": str(written.needed_json),
                           "host_script": str(written.host_script) if written.host_script else None} if written else None,
        }, indent=2))
    else:
        _print_table(plan)
        if written:
            made = [written.scene_copy, written.rules_json, written.needed_json, written.host_script]
            print(f"written to {args.write}: " + ", ".join(p.name for p in made if p))
    if report.missing:
        raise MissingAssetsError(f"{scene.name}: {len(report.missing)} file(s) not found: "
                                 + ", ".join(report.missing[:5]) + (" ..." if len(report.missing) > 5 else ""),
                                 missing=report.missing)
    if plan.problems:
        raise ValidationError(f"{len(plan.problems)} path problem(s) on a {plan.node_os} node:\n  " + "\n  ".join(plan.problems))
    return 0


def _print_table(plan) -> None:
    print(f"scene     {plan.scene}\n  key  {plan.submitted_key}\n  node {plan.submitted_node_path}")
    for item in plan.mapped:
        state = "" if item.dependency.exists else "  (MISSING)"
        print(f"{item.dependency.kind.value:<9} {item.local_path}{state}\n  key  {item.key or '-'}\n  node {item.node_path or '-'}")
