"""Headless discovery: pick a reader by file extension, resolve what it found, follow nested scenes.

Readers are :class:`~azrender.discovery.readers.Scanner` objects that plugins return from
``azrender_scanners`` (the built-in readers are a plugin too: :mod:`azrender.discovery.builtin`). A reader only lists the paths one file holds (:class:`RawReference`);
resolution is :mod:`azrender.discovery.resolve`, the same code the in-app collectors use. Nested
scenes (Maya references, USD layers) are read too, each file once, so reference loops end.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Mapping, Sequence

from azrender.discovery.model import Dependency, Kind, SceneReport
from azrender.discovery.readers import Reading, ScanContext, Scanner  # noqa: F401  (also importable from here)
from azrender.discovery.resolve import RawReference, ResolveContext, add_references
from azrender.errors import SceneError


def scanner_registry(plugin_manager) -> dict[str, Scanner]:
    """Extension -> scanner; a plugin's scanner replaces a built-in one (or an older plugin's)
    for its extensions."""
    registry: dict[str, Scanner] = {}
    scanners = [s for result in plugin_manager.hook.azrender_scanners() for s in (result or ())]
    # pluggy answers newest plugin first (the built-ins last): register in reverse so the newest wins.
    for scanner in reversed(scanners):
        for extension in scanner.extensions:
            registry[extension.lower()] = scanner
    return registry


def _extension(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _read(scanner: Scanner, path: str, context: ScanContext) -> Reading:
    try:
        return scanner.scan(path, context)
    except OSError as exc:
        raise SceneError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def scan_scene(
    scene: str | os.PathLike,
    *,
    search_paths: Sequence[str | os.PathLike] = (),
    project: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    plugin_manager=None,
) -> SceneReport:
    """Every file ``scene`` needs, nested references and libraries included.

    Raises :class:`SceneError` when the scene itself is missing, unreadable, corrupt or of an
    unknown type. A nested file that cannot be read becomes a warning in the report (its own
    dependencies are unknown, and the report says so).
    """
    if plugin_manager is None:
        from azrender.plugins import get_plugin_manager

        plugin_manager = get_plugin_manager()
    top = os.path.abspath(os.fspath(scene))
    if not os.path.exists(top):
        raise SceneError(f"{top}: no such file")
    if os.path.isdir(top):
        raise SceneError(f"{top}: is a folder, not a scene file")
    if not os.path.isfile(top):  # a FIFO or device would block the reader forever
        raise SceneError(f"{top}: not a regular file")
    registry = scanner_registry(plugin_manager)
    if _extension(top) not in registry:
        known = ", ".join(sorted(registry))
        raise SceneError(f"{top}: unknown scene type {_extension(top) or '(no extension)'!r} (known: {known})")
    context = ResolveContext(
        search_paths=tuple(os.path.abspath(os.fspath(p)) for p in search_paths),
        project=os.path.abspath(os.fspath(project)) if project else None,
        env=dict(os.environ) if env is None else dict(env),
    )

    report = SceneReport(scene=top)
    queue, visited = deque([top]), {os.path.realpath(top)}
    while queue:
        path = queue.popleft()
        scanner = registry[_extension(path)]
        try:
            reading = _read(scanner, path, ScanContext(plugin_manager, context))
        except SceneError as exc:
            if path == top:
                raise
            report.warnings.append(f"nested scene not read, its own dependencies are unknown: {exc}")
            continue
        report.best_effort = report.best_effort or reading.best_effort
        report.warnings.extend(w for w in reading.warnings if w not in report.warnings)
        if scanner.follows_nested:
            add_references(report, reading.references, context)
            continue
        for dep in add_references(report, reading.references, context):
            if (dep.exists and _extension(dep.path) in registry and os.path.isfile(dep.path)  # a FIFO never read
                    and os.path.realpath(dep.path) not in visited):
                visited.add(os.path.realpath(dep.path))
                queue.append(dep.path)
    return _run_hooks(plugin_manager, report, context)


def _run_hooks(plugin_manager, report: SceneReport, context: ResolveContext) -> SceneReport:
    for result in plugin_manager.hook.azrender_add_dependencies(scene=report.scene, report=report):
        for item in result or ():
            if isinstance(item, Dependency):
                report.add(item)
            else:
                add_references(report, [RawReference(os.fspath(item), Kind.OTHER, "plugin", report.scene)], context)
    dependencies = list(report.dependencies)
    plugin_manager.hook.azrender_modify_dependencies(scene=report.scene, dependencies=dependencies)
    final = SceneReport(scene=report.scene, warnings=report.warnings, best_effort=report.best_effort)
    for dep in dependencies:
        final.add(dep)
    return final
