"""Arnold for Maya (MtoA): the passes a render writes besides the beauty, and into which files.

The host plugin (through ``maya.cmds``) and the headless ``.ma`` reader both fill
:class:`ArnoldAovs` with what Maya holds; the rules below decide, in one place, what that renders.
Maya cannot run here, so they follow MtoA's behaviour as documented by its users:

- the AOVs are the ``aiAOV`` nodes connected to ``defaultArnoldRenderOptions.aovList``, each with
  its ``enabled`` flag; ``aovMode`` 0 ("Disabled") renders none (1 "Enabled", 2 "Batch Only": a farm
  render is a batch render); an AOV goes to the files of the drivers its ``outputs`` connect to
  (``defaultArnoldDriver`` unless set otherwise);
- *Merge AOVs* (``defaultArnoldDriver.mergeAOVs``) writes every AOV as layers of the beauty's one
  EXR; only multi-layer formats merge, and a prefix holding ``<RenderPass>`` still writes one file
  per AOV (ayon-maya ``lib_renderproducts.RenderProductsArnold``, which follows
  ``mtoa.utils.getFileName``);
- otherwise each AOV is a file of its own, ``<RenderPass>`` its name and ``beauty`` the RGBA
  output's (an AOV named ``RGBA`` is the beauty); a prefix without ``<RenderPass>`` gets
  ``<RenderPass>/`` in front (same source; arnoldsupport.com: "MtoA will automatically add the
  <RenderPass> token").

Assumed, not checked against a real MtoA (README, Render settings): the same holds for the prefix
``Render -im`` passes; Maya's own layer and camera folders go outside the pass folder. Not listed:
what an AOV writes through a driver of its own (its format and path prefix are that driver's),
light groups and denoiser outputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from azrender.rendersettings.model import RenderSettings

BEAUTY = "beauty"
DEFAULT_DRIVER = "defaultArnoldDriver"
MERGING = frozenset({"exr", "deepexr"})  # the drivers that can hold several AOVs in one file
_PASS_TOKEN = re.compile(r"<RenderPass>", re.I)


@dataclass(frozen=True)
class ArnoldAovs:
    """What Maya holds, nothing decided: ``aovs`` are (name, enabled, the drivers its outputs
    connect to) of the ``aiAOV`` nodes connected to ``defaultArnoldRenderOptions.aovList``, in
    their order."""

    mode: int = 1  # defaultArnoldRenderOptions.aovMode
    aovs: tuple[tuple[str, bool, tuple[str, ...]], ...] = ()
    merge: bool = False  # defaultArnoldDriver.mergeAOVs
    translator: str = "exr"  # defaultArnoldDriver.aiTranslator


def passes(aovs: ArnoldAovs, prefix: str) -> tuple[tuple[str, ...], bool]:
    """(the passes the render writes, beauty first, or () for the beauty alone; whether they are
    merged into one file)."""
    names = [] if aovs.mode == 0 else [BEAUTY if name == "RGBA" else name for name, enabled, drivers in aovs.aovs
                                       if enabled and (not drivers or DEFAULT_DRIVER in drivers)]
    if not names:
        return (), False
    merged = aovs.merge and aovs.translator in MERGING and not _PASS_TOKEN.search(prefix or "")
    return tuple(dict.fromkeys([BEAUTY, *names])), merged


def with_aovs(settings: RenderSettings, aovs: ArnoldAovs) -> RenderSettings:
    """``settings`` of an Arnold scene with its passes on every layer and, when merged, a
    multi-layer image format."""
    found, merged = passes(aovs, settings.output_path)
    return replace(settings, layers=tuple(replace(layer, passes=found) for layer in settings.layers),
                   image_format=replace(settings.image_format, multilayer=merged))


def pass_prefix(prefix: str) -> str:
    """The prefix MtoA writes separate AOV files with: ``<RenderPass>/`` in front unless it has the token."""
    return prefix if _PASS_TOKEN.search(prefix) else "<RenderPass>/" + prefix
