"""What the Blender, Maya and 3ds Max plugins share, so each plugin only talks to its host.

- :mod:`.submission`: the in-app submission: raw references collected through the host API ->
  one :class:`~azrender.discovery.model.SceneReport` (resolved by discovery, plugin hooks
  included) -> checked -> a :class:`Prepared` request (with the submission copy, if any).
- :mod:`.background`: run it off the UI thread; the host polls snapshots from its own timer
  (Blender modal timer, ``QTimer``) and drives its progress display.
- :mod:`.maya`, :mod:`.max`: host rules that need no host import (Maya node attributes, 3ds Max
  asset types -> raw references).
- :mod:`.qt_dialog`: the "Render on Azure" dialog shared by the Qt hosts (Maya, 3ds Max).
- :mod:`.jobs`: a job list's status line and outputs download.
- :mod:`.build`: the installable artifacts (Blender extension zip, Maya module, 3ds Max package).
"""
