"""The whole submission, one call: discover -> validate -> sync -> map paths -> build -> submit.

Used by ``azrender submit`` and by every host plugin (which only adds what it collected through the
host API). Records only so far; the orchestration lands once the stages it composes do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from azrender.discovery.model import Dependency, SceneReport

# progress(stage, done, total, message): stage is "discover" | "sync" | "submit" | "render" | "download"
ProgressCallback = Callable[[str, float, float, str], None]


@dataclass(frozen=True)
class SubmitRequest:
    scene: Path
    frames: str = "1"
    chunk: int = 1
    backend: str | None = None  # "local" | "batch"; None: batch when configured, else local
    storage_mode: str = "copy"  # copy | blobfuse | fileshare
    node_os: str = "linux"
    pool_id: str | None = None
    profile: str | None = None
    host: str | None = None  # blender | maya | max; None: from the scene's extension
    renderer: str | None = None  # e.g. CYCLES, arnold, vray
    extra_dependencies: tuple[Dependency, ...] = ()  # collected in-app by a host plugin
    search_paths: tuple[Path, ...] = ()
    project: Path | None = None
    allow_missing: bool = False
    dry_run: bool = False
    wait: bool = False
    download_dir: Path | None = None
    job_name: str | None = None


@dataclass(frozen=True)
class SubmitResult:
    job_id: str
    backend: str
    task_count: int
    report: SceneReport
    warnings: tuple[str, ...] = field(default_factory=tuple)
    download_dir: Path | None = None
    dry_run_requests: dict | None = None  # {"pool", "job", "tasks"} REST JSON, redacted
