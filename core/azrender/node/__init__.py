"""Node-side helpers: standard library only, relative imports only.

Everything in this package runs on a render node (and inside Blender/Maya/3ds Max there), shipped
as one zipapp; it must not import ``azrender.*`` outside this package nor any third-party module.
The submit side imports from here too, so both ends share one implementation.
"""
