"""azrender: render Blender, Maya and 3ds Max scenes on Azure Batch, or on this machine.

The pipeline, one package per stage: discovery -> sync -> paths -> jobs -> backends.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # ``azrender.hookimpl`` for plugins, without importing pluggy for every command.
    if name == "hookimpl":
        from azrender.plugins import hookimpl

        return hookimpl
    raise AttributeError(name)
