"""Code that runs on render nodes, shipped as the ``azrender_node.pyz`` zipapp: standard library
only, imports relative to this package, so it works as ``azrender.node`` on the submitting machine
(which shares this one implementation) and as ``azrender_node`` inside the zipapp on a node, and
inside Blender/Maya/3ds Max there."""
