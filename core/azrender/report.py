"""The job report, written beside the downloaded frames' folder: a contact sheet of the frames, a
chart of each frame's render time and the job's numbers, as one HTML file (images inlined, so it
can be mailed) and one PNG: ``renders/JOB/`` gets ``renders/JOB.report.html`` and
``renders/JOB.report.png``. Outside the folder, so the folder holds exactly the job's outputs."""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass
from pathlib import Path

THUMB = 160  # contact sheet cell width, pixels
COLUMNS = 6
LABEL = 18  # caption height under each thumbnail
CHART_HEIGHT = 140
READABLE = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".tga"}


@dataclass(frozen=True)
class FrameTime:
    frame: int
    seconds: float  # the task's node time shared by its frames
    task_id: str


def frame_times(record, status) -> list[FrameTime]:
    """Each frame's render time: its task's node time divided among the task's frames."""
    times = []
    for task in status.tasks:
        frames = record.tasks.get(task.id, ()) if record else ()
        if task.seconds is None or not frames:
            continue
        times += [FrameTime(f, task.seconds / len(frames), task.id) for f in frames]
    return sorted(times, key=lambda t: t.frame)


def frame_number(path: Path) -> int | None:
    digits = re.findall(r"\d+", path.stem)
    return int(digits[-1]) if digits else None


def _frames(folder: Path) -> list[Path]:
    found = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in READABLE
             and "logs" not in p.relative_to(folder).parts]
    return sorted(found, key=lambda p: (frame_number(p) is None, frame_number(p) or 0, p.name))


def contact_sheet(frames: list[Path]):
    """A Pillow image: every frame as a thumbnail with its file name under it."""
    from PIL import Image, ImageDraw

    columns = max(1, min(COLUMNS, len(frames)))
    thumbs = []
    for path in frames:
        try:
            with Image.open(path) as image:
                image.thumbnail((THUMB, THUMB))
                thumbs.append((path.name, image.convert("RGB")))
        except OSError:
            continue  # an unreadable frame is named in the numbers, not drawn
    cell_h = max((t.height for _, t in thumbs), default=THUMB // 2) + LABEL
    rows = max(1, -(-len(thumbs) // columns))
    sheet = Image.new("RGB", (columns * THUMB, rows * cell_h), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    for i, (name, thumb) in enumerate(thumbs):
        x, y = (i % columns) * THUMB, (i // columns) * cell_h
        sheet.paste(thumb, (x + (THUMB - thumb.width) // 2, y))
        draw.text((x + 4, y + cell_h - LABEL + 3), name[:24], fill=(220, 220, 220))
    return sheet


def time_chart(times: list[FrameTime], width: int):
    """A bar per frame, its height the frame's render time."""
    from PIL import Image, ImageDraw

    chart = Image.new("RGB", (max(width, 200), CHART_HEIGHT), (250, 250, 250))
    draw = ImageDraw.Draw(chart)
    if not times:
        draw.text((8, 8), "no render times", fill=(0, 0, 0))
        return chart
    longest = max(t.seconds for t in times) or 1.0
    bar = max(1, (chart.width - 16) // len(times))
    for i, t in enumerate(times):
        height = int((CHART_HEIGHT - 30) * t.seconds / longest)
        x = 8 + i * bar
        draw.rectangle((x, CHART_HEIGHT - 14 - height, x + max(1, bar - 2), CHART_HEIGHT - 14), fill=(40, 110, 200))
    draw.text((8, 2), f"render time per frame (longest {longest:.1f} s)", fill=(0, 0, 0))
    draw.text((8, CHART_HEIGHT - 12), f"frame {times[0].frame} .. {times[-1].frame}", fill=(0, 0, 0))
    return chart


def numbers(record, status, frame_count: int) -> list[tuple[str, str]]:
    from azrender.backends import LABELS
    from azrender.cost.estimate import money
    from azrender.watch.view import prices_label

    rows = [("job", status.job_id), ("ran on", LABELS.get(status.backend, status.backend)),
            ("tasks", f"{len(status.tasks) - len(status.failed)} rendered, {len(status.failed)} failed"),
            ("frames downloaded", str(frame_count))]
    if record is not None:
        rows.append(("VM size", f"{record.vm_size} x {record.nodes}"))
        if record.usage:
            u = record.usage
            rows.append(("node-hours", f"{u['node_hours']:.3f}"))
            if u.get("cost") is not None:
                rows.append(("cost", f"{money(u['cost'], u['currency'])} ({prices_label(u)})"))
        if record.estimate and record.estimate.get("total") is not None:
            e = record.estimate
            rows.append(("estimate", f"{e['node_hours']:.3f} node-hours, {money(e['total'], e['currency'])} "
                                     f"(from {e['measured_frames']} scout frame(s); {prices_label(e)})"))
    return rows


def report_paths(folder: Path) -> tuple[Path, Path]:
    """(html, png) of the report on the frames in ``folder``."""
    folder = Path(folder).resolve()
    return folder.with_name(folder.name + ".report.html"), folder.with_name(folder.name + ".report.png")


def write_report(folder: Path, status, record=None) -> tuple[Path, Path]:
    """Write the report on the frames in ``folder`` beside it; returns (html, png)."""
    from PIL import Image, ImageDraw

    folder = Path(folder)
    page_html, png = report_paths(folder)
    frames = _frames(folder)
    sheet = contact_sheet(frames)
    times = frame_times(record, status)
    chart = time_chart(times, sheet.width)
    facts = numbers(record, status, len(frames))
    text_h = 16 * len(facts) + 10
    page = Image.new("RGB", (max(sheet.width, chart.width), sheet.height + chart.height + text_h), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    for i, (key, value) in enumerate(facts):
        draw.text((8, 5 + 16 * i), f"{key}: {value}", fill=(0, 0, 0))
    page.paste(sheet, (0, text_h))
    page.paste(chart, (0, text_h + sheet.height))
    page.save(png)

    def inline(image) -> str:
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts)
    timing = "".join(f"<tr><td>{t.frame}</td><td>{t.seconds:.1f}</td><td>{html.escape(t.task_id)}</td></tr>"
                     for t in times)
    doc = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>azrender report: {html.escape(status.job_id)}</title>
<style>body{{font-family:sans-serif;margin:1em}} th{{text-align:left;padding-right:1em}} img{{max-width:100%}}</style>
</head><body>
<h1>{html.escape(status.job_id)}</h1>
<table>{rows}</table>
<h2>Frames</h2><img id="contact-sheet" alt="contact sheet" src="{inline(sheet)}">
<h2>Render time per frame</h2><img id="render-times" alt="render time per frame" src="{inline(chart)}">
<table><tr><th>frame</th><th>seconds</th><th>task</th></tr>{timing}</table>
</body></html>
"""
    page_html.write_text(doc, encoding="utf-8")
    from azrender.dirs import for_user

    for written in (page_html, png):
        for_user(written)
    return page_html, png
