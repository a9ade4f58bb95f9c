"""azrender for Blender: "Render on Azure…" in the Render menu, a panel in Render properties, and
``submit()`` for headless use::

    blender -b shot.blend --python-expr "import azrender_blender; azrender_blender.submit(frames='1-8', wait=True)"

Thin by design: it reads the scene through ``bpy`` and hands plain records to the azrender core.
"""

bl_info = {
    "name": "Render on Azure (azrender)",
    "author": "azrender",
    "version": (0, 1, 0),
    "blender": (3, 0, 0),
    "location": "Render > Render on Azure…, Properties > Render > Azure",
    "description": "Render this scene on Azure Batch (or on this machine), with incremental asset sync",
    "category": "Render",
}

from . import _wheels  # noqa: E402

_wheels.ensure_importable()

from . import ops, props, ui  # noqa: E402
from .submission import submit  # noqa: E402,F401  (the headless entry point)

_MODULES = (props, ops, ui)


def register():
    for module in _MODULES:
        module.register()


def unregister():
    for module in reversed(_MODULES):
        module.unregister()
