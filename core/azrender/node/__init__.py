"""Code that runs on render nodes, shipped as the ``azrender_node.pyz`` zipapp: standard library
only, imports relative to this package. It is ``azrender.node`` everywhere: on the submitting
machine (which shares this one implementation), inside the zipapp on a node (under an empty
``azrender`` package), and inside Blender/Maya/3ds Max there."""
