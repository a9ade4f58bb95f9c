"""azrender for 3ds Max: "Render on Azure..." (macroscript ``Render_on_Azure``, category
``azrender``) and ``submit()`` for scripts and ``3dsmaxbatch``::

    3dsmaxbatch.exe submit.py -sceneFile shot.max     # submit.py: import azrender_max; azrender_max.submit()

Thin by design: it reads the scene through ``pymxs`` and hands plain records to the core. On the
render node the core runs ``3dsmaxcmdio.exe`` (see ``azrender.jobs.commands``).
"""

from .submission import submit  # noqa: F401
