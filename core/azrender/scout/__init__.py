"""Scout frames: render a few frames first (:mod:`.select`), look at what came back
(:mod:`.checks`), and only then let the rest of the job start (``azrender.watch.gate``)."""
