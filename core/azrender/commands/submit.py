"""azrender submit: the whole pipeline for one or many scenes (see azrender.pipeline)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HELP = "discover, sync, map and submit scenes; --wait renders and downloads the frames"


def register(parser) -> None:
    from azrender.enums import BackendKind, Device, NodeOS, StorageMode

    parser.add_argument("scenes", nargs="+", metavar="SCENE", help="scene file(s): .blend, .ma, .mb, .max")
    parser.add_argument("--frames", help="frames to render, e.g. 1-100, 1-100x5, 1,5,10-20 (default: the scene's range)")
    parser.add_argument("--chunk", type=int, default=1, help="frames per task (default 1)")
    parser.add_argument("--backend", choices=BackendKind.values(), help="default: batch when a Batch account is configured, else local")
    parser.add_argument("--storage", dest="storage_mode", choices=StorageMode.values(),
                        help="how nodes see the assets (default: the profile's, else copy: synced into the node's "
                             "shared folder)")
    parser.add_argument("--share", help="--storage fileshare on Windows nodes: the share's drive letter (S:) or UNC path "
                                        "(\\\\ACCOUNT.file.core.windows.net\\SHARE)")
    parser.add_argument("--os", dest="node_os", choices=NodeOS.values(),
                        help="render node OS (default: the profile's, else linux)")
    parser.add_argument("--pool", dest="pool_id", help="Batch pool id (overrides the profile)")
    parser.add_argument("--profile", help="settings profile in config.toml")
    parser.add_argument("--batch-url", help="Batch account URL (overrides the profile)")
    parser.add_argument("--storage-url", help="store URL for assets and outputs (overrides the profile)")
    parser.add_argument("--renderer", help="renderer (default: the scene's own: Blender engine, Maya current renderer)")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                        help="change one render setting for this submission: frames=1-10, resolution=50 (percent), "
                             "samples=64; shown in the plan")
    parser.add_argument("--device", type=str.lower, choices=Device.values(), default="cpu",
                        help="Cycles device on the render node (default CPU); a node without it fails the task")
    parser.add_argument("--blender", metavar="VERSION|PATH",
                        help="the Blender that renders: a version (4.5) or a path (an executable, or a bpy "
                             "wheel's Python); default: the profile's, else the one on PATH")
    parser.add_argument("--job-name", help="job id prefix (default: the scene name)")
    parser.add_argument("--search-path", action="append", default=[], type=Path, help="extra folder to find assets in")
    parser.add_argument("--project", type=Path, help="Maya project folder (default: found from workspace.mel)")
    parser.add_argument("--allow-missing", action="store_true", help="submit even when assets are missing")
    parser.add_argument("--allow-path", action="append", default=[], type=Path, metavar="PATH",
                        help="send files under PATH even though it is a system or credential location; repeatable")
    parser.add_argument("--allow-broad-sas", action="store_true",
                        help="give nodes the store URL's SAS as given even when it grants more than they need")
    parser.add_argument("--dry-run", action="store_true", help="build everything, send nothing, print what would be sent")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--wait", action="store_true", help="wait for the job, showing progress, then download the outputs")
    parser.add_argument("--scout", nargs="?", const="auto", metavar="FRAMES",
                        help="render these frames first (default: first, middle, last), check them, then the rest")
    parser.add_argument("--budget", type=float, metavar="AMOUNT",
                        help="past this cost no new task starts and the job is held (price table's currency)")
    parser.add_argument("--background", action="store_true",
                        help="hand the submission to the background agent and return at once (it uploads, "
                             "submits, and downloads the frames as they finish into --download or renders/JOB beside the scene)")
    parser.add_argument("--download", type=Path, metavar="DIR", help="where --wait puts the outputs (default ./renders/<job id>/)")


def run(args) -> int:
    from azrender.pipeline import submit
    from azrender.progress import ProgressReporter
    results, exit_code = [], 0
    if args.background:
        return _hand_over(args)
    for scene in args.scenes:
        request = _request(args, scene)
        with ProgressReporter(enabled=not args.json) as progress:
            result = submit(request, progress=progress)
        results.append(result)
        if not args.json:
            _print_result(result)
        if result.failed_tasks or (result.watch is not None and result.watch.state == "held" and args.wait):
            exit_code = 1
    if args.json:
        payload = [r.to_json() for r in results]
        json.dump(payload[0] if len(payload) == 1 else payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return exit_code


def _request(args, scene):
    from azrender.jobs.renderplan import parse_overrides
    from azrender.pipeline import SubmitRequest

    overrides, override_frames = parse_overrides(args.override)
    return SubmitRequest(
        scene=Path(scene), frames=args.frames or override_frames, chunk=args.chunk,
        overrides=overrides, device=args.device, backend=args.backend,
        storage_mode=args.storage_mode, node_os=args.node_os, pool_id=args.pool_id, profile=args.profile,
        batch_url=args.batch_url, storage_url=args.storage_url, renderer=args.renderer,
        search_paths=tuple(args.search_path), project=args.project, allow_missing=args.allow_missing,
        allow_paths=tuple(args.allow_path), allow_broad_sas=args.allow_broad_sas,
        dry_run=args.dry_run, wait=args.wait, download_dir=args.download, job_name=args.job_name,
        share=args.share, blender=args.blender, scout=args.scout, budget=args.budget,
    )


def _hand_over(args) -> int:
    from azrender import agent
    from azrender.errors import UsageError

    if args.wait or args.dry_run:
        raise UsageError("--background returns at once: it cannot be combined with --wait or --dry-run")
    jobs = []
    for scene in args.scenes:
        if not Path(scene).is_file():
            raise UsageError(f"{scene}: no such scene file")
        jobs.append(agent.hand_over(_request(args, scene)))
    if args.json:
        print(json.dumps({"jobs": [job.job_id for job in jobs],
                          "download_dirs": {job.job_id: str(job.download_dir) for job in jobs}}))
    else:
        for job in jobs:
            print(f"{job.line().removeprefix('azrender: ')} (azrender jobs shows its progress)")
    return 0


def _print_result(result) -> None:
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if result.dry_run_requests is not None:
        print(json.dumps(result.dry_run_requests, indent=2))
        return
    if result.status is None:
        print(f"job {result.job_id} submitted to {result.backend}: {result.task_count} task(s)")
    elif result.watch is not None and result.watch.state == "held":
        print(f"job {result.job_id} on {result.backend}: held")
    else:
        succeeded = result.status.count("completed") - len(result.status.failed)
        print(f"job {result.job_id} on {result.backend}: {succeeded} of {result.task_count} task(s) rendered")
    if result.watch is not None:
        from azrender.watch.view import watch_lines

        for line in watch_lines(result.watch):
            print(line)
    if result.download_dir:
        print(f"outputs: {result.download_dir}")
    if result.status is not None:
        from azrender.commands.status import failure_lines

        for line in failure_lines(result.status):
            print(line, file=sys.stderr)
