"""The pluggy plugin manager: built-in plugins, then a studio's own.

A studio plugin is found in one of two ways:

- installed as a distribution with an entry point in the ``azrender`` group (the normal way;
  ``pip install`` it into the Python that runs azrender, Blender's or ``mayapy`` included);
- named in ``AZRENDER_PLUGINS`` (comma-separated importable module names), for a module that sits
  on a pipeline share and is put on ``PYTHONPATH`` by the studio's launcher rather than installed.

``AZRENDER_DISABLE_PLUGINS`` (comma-separated plugin names) blocks plugins, to rule one out when a
submission misbehaves. A plugin that cannot be imported, or that implements a hook azrender does
not know (a typo such as ``azrender_validat``), stops azrender with one line naming it rather than
being silently ignored.

``get_plugin_manager()`` is cached for the process; tests build fresh ones with
``new_plugin_manager``.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from dataclasses import dataclass

import pluggy

from azrender import hookspecs

hookimpl = pluggy.HookimplMarker("azrender")
log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "azrender"
PLUGINS_ENV = "AZRENDER_PLUGINS"
DISABLE_ENV = "AZRENDER_DISABLE_PLUGINS"

# Modules inside the core that implement hooks (the built-in host knowledge).
BUILTIN_PLUGINS: list[str] = ["azrender.discovery.builtin"]


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin, as shown to a user (``origin``: builtin | entry-point | env | code)."""

    name: str
    origin: str
    distribution: str | None = None  # "mystudio-azrender 1.2" for an installed plugin


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _plugin_error(what: str, exc: BaseException):
    from azrender.errors import AzrenderError

    return AzrenderError(f"could not load azrender plugin {what}: {type(exc).__name__}: {exc}",
                         hint=f"fix or uninstall it, or set {DISABLE_ENV}={what.split()[0]} to run without it")


def _entry_point_names() -> list[str]:
    from importlib.metadata import entry_points

    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def new_plugin_manager(*, load_entry_points: bool = True, plugins=()) -> pluggy.PluginManager:
    """A plugin manager with the built-ins, the installed and ``AZRENDER_PLUGINS`` plugins (unless
    ``load_entry_points`` is false) and ``plugins`` (objects or modules, registered last so their
    answers come first)."""
    pm = pluggy.PluginManager("azrender")
    pm.add_hookspecs(hookspecs)
    for name in _env_list(DISABLE_ENV):
        pm.set_blocked(name)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if load_entry_points:
        for name in _entry_point_names():
            if pm.is_blocked(name):
                continue
            try:
                pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=name)
            except Exception as exc:  # a broken studio plugin must be named, not crash every command
                raise _plugin_error(f"{name} (entry point)", exc) from exc
        for module_name in _env_list(PLUGINS_ENV):
            if pm.is_blocked(module_name) or pm.has_plugin(module_name):
                continue
            try:
                pm.register(importlib.import_module(module_name), name=module_name)
            except Exception as exc:
                raise _plugin_error(f"{module_name} (from {PLUGINS_ENV})", exc) from exc
    for plugin in plugins:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise _plugin_error(pm.get_name(exc.plugin) or repr(exc.plugin), exc) from exc
    return pm


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """What is loaded and from where, for ``--verbose`` output and the host panels."""
    dists = {id(plugin): f"{dist.project_name} {dist.version}" for plugin, dist in pm.list_plugin_distinfo()}
    env = set(_env_list(PLUGINS_ENV))
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        origin = ("builtin" if name in BUILTIN_PLUGINS else "entry-point" if id(plugin) in dists
                  else "env" if name in env else "code")
        infos.append(PluginInfo(name=name, origin=origin, distribution=dists.get(id(plugin))))
    return infos


@functools.lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    return new_plugin_manager()
