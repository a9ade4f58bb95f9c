"""What the scene says to render: renderer, frames, layers, cameras, image format and file names.

One model (:mod:`.model`) filled headless by the readers (``.blend``, ``.ma``) or in the host by
its plugin; :mod:`.outputs` turns it into the files each task must produce.
"""
