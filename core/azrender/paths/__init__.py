"""Path mapping: local paths -> storage keys -> node paths, and making each host's scene use them.

model (records) -> roots (which folders become which aliases) -> mapping (rules, node paths,
portability problems) -> blender / maya / max (the scene copy and node-side scripts per host).
"""
