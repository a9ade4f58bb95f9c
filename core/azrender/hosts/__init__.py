"""What the Blender, Maya and 3ds Max plugins share, so each plugin only talks to its host.

- :mod:`.background`: run the submission pipeline off the UI thread; the host polls snapshots
  from its own timer (Blender modal timer, Maya ``QTimer``/``progressWindow``, 3ds Max timer).
- :mod:`.submission`: the in-app submission: raw references collected through the host API ->
  one :class:`~azrender.discovery.model.SceneReport` -> a :class:`~azrender.pipeline.SubmitRequest`.
- :mod:`.build`: the installable artifacts (Blender extension zip, Maya module, 3ds Max package).
"""
