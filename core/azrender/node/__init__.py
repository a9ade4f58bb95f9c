"""Code that runs on render nodes (shipped as the ``azrender_node.pyz`` zipapp): standard library
only, imports relative to this package so it works as ``azrender.node`` here and as
``azrender_node`` inside the zipapp."""
