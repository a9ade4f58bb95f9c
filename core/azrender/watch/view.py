"""One wording of a watched job for every surface: the CLI's lines, ``--json``, the host panels."""

from __future__ import annotations

from azrender.watch.record import DONE, HELD, SCOUTING, WatchRecord


def watch_json(record: WatchRecord) -> dict:
    return {"gate": {"state": record.state, "reason": record.reason, "held_tasks": len(record.held),
                     "scout_tasks": list(record.scout), "findings": list(record.findings), "budget": record.budget},
            "estimate": record.estimate, "usage": record.usage}


def watch_lines(record: WatchRecord) -> list[str]:
    """What a person needs to know, one fact per line; hints on their own line."""
    from azrender.cost.estimate import money

    lines, hint = [], None
    if record.state == SCOUTING:
        lines.append(f"scouting: {len(record.scout)} task(s) render first; {len(record.held)} held until they pass")
    elif record.state == HELD:
        lines.append(f"held: {record.reason}")
        lines += [f"  {finding}" for finding in record.findings[1:5]]
        hint = f"hint: azrender release {record.job_id}  (renders the {len(record.held)} held task(s))"
    if record.estimate and record.state != DONE:
        e = record.estimate
        cost = money(e["total"], e["currency"]) if e.get("total") is not None else f"{e['vm_size']}: no price"
        lines.append(f"estimate: {hours(e['node_hours'])} node-hours, {cost} for {e['frames']} frames "
                     f"(from {e['measured_frames']} measured; prices of {e['prices_as_of']})")
    if record.budget is not None and record.state != DONE:
        lines.append(f"budget: {record.budget:g}")
    if record.usage:
        u = record.usage
        cost = money(u["cost"], u["currency"]) if u.get("cost") is not None else f"{record.vm_size}: no price"
        lines.append(f"used: {hours(u['node_hours'])} node-hours, {cost} ({record.vm_size})")
    return lines + ([hint] if hint else [])  # the hint last, on its own line


def hours(value: float) -> str:
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"
