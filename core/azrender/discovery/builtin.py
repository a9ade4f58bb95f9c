"""azrender's own scene readers, registered as a plugin through the same hook a studio uses
(as pytest registers its own features), so there is no second path for built-ins."""

from __future__ import annotations

from azrender.plugins import hookimpl


@hookimpl(trylast=True)
def azrender_scanners():
    from azrender.discovery import blend, max_assets, maya_ascii, maya_binary, usd

    return [blend.SCANNER, maya_ascii.SCANNER, maya_binary.SCANNER, max_assets.SCANNER, usd.SCANNER]
