"""Stage 2 of the pipeline: move files between a workstation and a store, only what changed.

- :mod:`.hashing`  content hashes (xxh3-128) with a persistent cache, so unchanged files are never re-read
- :mod:`.manifest` the versioned record of what one asset root contains
- :mod:`.keys`     which store keys are safe to turn into local paths
- :mod:`.stores`   the one small :class:`~.stores.Store` interface and :func:`~.stores.open_store`
  (implementations in :mod:`.local_store` and :mod:`.azure_store`)
- :mod:`.engine`   plan (pure diff of hashes) then act (parallel transfers, retries)
- :mod:`.progress` the terminal progress bar the commands show
"""
