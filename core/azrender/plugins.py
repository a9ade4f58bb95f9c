"""The pluggy plugin manager: built-in plugins plus those installed through the ``azrender``
entry-point group. ``get_plugin_manager()`` is cached; tests build fresh ones with ``new_plugin_manager``.
"""

from __future__ import annotations

import functools
import logging

import pluggy

from azrender import hookspecs

hookimpl = pluggy.HookimplMarker("azrender")
log = logging.getLogger(__name__)

# Modules inside the core that implement hooks (the built-in host knowledge).
BUILTIN_PLUGINS: list[str] = []


def new_plugin_manager(*, load_entry_points: bool = True, plugins=()) -> pluggy.PluginManager:
    import importlib

    pm = pluggy.PluginManager("azrender")
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if load_entry_points:
        try:
            pm.load_setuptools_entrypoints("azrender")
        except Exception as exc:  # a broken studio plugin must be named, not crash every command
            from azrender.errors import AzrenderError

            raise AzrenderError(f"could not load an azrender plugin: {type(exc).__name__}: {exc}") from exc
    for plugin in plugins:
        pm.register(plugin)
    return pm


@functools.lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    return new_plugin_manager()
