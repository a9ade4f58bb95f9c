"""Stage 2 of the pipeline: move files between a workstation and a store, only what changed.

- :mod:`.hashing`  content hashes (xxh3-128) with a persistent cache, so unchanged files are never re-read
- :mod:`.manifest` the versioned record of what one asset root contains
- :mod:`.keys`     which store keys are safe to turn into local paths
- :mod:`.store`    the one small :class:`~.store.Store` interface (implementations in :mod:`.local_store`
  and :mod:`.azure_store`); :func:`.stores.open_store` picks one from a URL
- :mod:`.partial`  partial files: written beside the destination, renamed once complete
- :mod:`.engine`   plan (pure diff of hashes) then act (parallel transfers, retries)
- :mod:`.progress` the terminal progress bar the commands show
"""
