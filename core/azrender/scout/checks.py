"""Automatic checks of scout frames, before the farm renders the rest: each finding is one line a
user can act on. Looks at what a person would look at first: are the frames there, are they
black or empty, do they show Blender's pink "missing texture" colour, does the renderer's log
say a file or a licence was missing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".tga", ".exr"}
PINK_SHARE = 0.01  # of the frame's pixels: a missing texture covers far more than stray purple
SAMPLE_SIZE = 256  # frames are looked at downscaled to at most this many pixels a side

LOG_PATTERNS = [
    (re.compile(r"(?i)\b(?:cannot|can't|could not|couldn't|unable to|failed to) (?:open|read|find|load)\b.*"), "a file could not be read"),
    (re.compile(r"(?i)\b(?:file|path|image|texture|reference)\b[^\n]*\bnot found\b.*"), "a file was not found"),
    (re.compile(r"(?i)\bmissing (?:file|texture|image|reference)s?\b.*"), "a file is missing"),
    (re.compile(r"(?i)\blicen[cs]e\b[^\n]*\b(?:error|fail\w*|unavailable|not (?:found|available|valid)|expired|denied|checkout)\b.*"), "a licence was not available"),
]


@dataclass(frozen=True)
class Finding:
    task_id: str
    message: str

    def line(self) -> str:
        return f"{self.task_id}: {self.message}"


def check_task(task_id: str, frames: tuple[int, ...], outputs: list[Path], log: str) -> list[Finding]:
    """Everything wrong with one finished scout task: its output files and its stdout/stderr."""
    findings = [Finding(task_id, message) for message in _log_findings(log)]
    images = [path for path in outputs if path.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        return findings + [Finding(task_id, "rendered no image (expected one per frame)")]
    for frame in frames:
        if not any(_shows_frame(path.name, frame) for path in images):
            findings.append(Finding(task_id, f"no image for frame {frame}"))
    for path in images:
        findings += [Finding(task_id, f"{path.name}: {message}") for message in image_findings(path)]
    return findings


def _shows_frame(name: str, frame: int) -> bool:
    return any(int(digits) == frame for digits in re.findall(r"\d+", name))


def _log_findings(log: str) -> list[str]:
    found = []
    for line in log.splitlines():
        for pattern, what in LOG_PATTERNS:
            if pattern.search(line):
                found.append(f"{what}: {line.strip()[:200]}")
                break
    return found[:5]


def image_findings(path: Path) -> list[str]:
    """Empty, black or pink: what the frame looks like, in words. Formats Pillow cannot read
    (EXR) are only checked for being there and not empty."""
    if path.stat().st_size == 0:
        return ["the file is empty (0 bytes)"]
    if path.suffix.lower() == ".exr":
        return []
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.thumbnail((SAMPLE_SIZE, SAMPLE_SIZE))
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError) as exc:
        return [f"not a readable image ({exc})"]
    alpha = rgba.getchannel("A").getextrema()
    if alpha[1] == 0:
        return ["the frame is empty (fully transparent)"]
    rgb = rgba.convert("RGB")
    if max(high for _, high in rgb.getextrema()) <= 2:
        return ["the frame is entirely black"]
    data = rgb.tobytes()
    count = len(data) // 3
    pink = sum(1 for r, g, b in zip(data[0::3], data[1::3], data[2::3]) if _pink(r, g, b))
    if pink > PINK_SHARE * count:
        return [f"{100 * pink / count:.0f}% of the frame is Blender's pink missing-texture colour "
                "(a texture did not load on the node)"]
    return []


def _pink(r: int, g: int, b: int) -> bool:
    """Magenta (1, 0, 1), also when shaded: red and blue equal and strong, green near zero."""
    low = min(r, b)
    return low > 48 and abs(r - b) <= 0.12 * max(r, b) + 6 and g <= 0.15 * low
