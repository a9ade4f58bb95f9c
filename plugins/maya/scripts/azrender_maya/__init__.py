"""azrender for Maya: an "Azure" menu with "Render on Azure…", and ``submit()`` for ``mayapy``::

    mayapy -c "import maya.standalone; maya.standalone.initialize(); from maya import cmds; \
cmds.file('shot.ma', open=True); import azrender_maya; azrender_maya.submit(frames='1-10')"

Thin by design: it reads the scene through ``maya.cmds`` and hands plain records to the core.
"""

from .submission import submit  # noqa: F401
