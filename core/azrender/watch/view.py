"""One wording of a watched job for every surface: the CLI's lines, ``--json``, the host panels."""

from __future__ import annotations

from azrender.watch.record import DONE, HELD, SCOUTING, WatchRecord


def watch_json(record: WatchRecord) -> dict:
    return {"gate": {"state": record.state, "reason": record.reason, "held_tasks": len(record.held),
                     "scout_tasks": list(record.scout), "findings": list(record.findings), "budget": record.budget},
            "estimate": record.estimate, "usage": record.usage,
            "prices": prices_label(record.usage or record.estimate or {})}  # which prices the amounts are in


def watch_lines(record: WatchRecord) -> list[str]:
    """What a person needs to know, one fact per line; hints on their own line. Any amount is
    followed by a line saying which prices it comes from (dated list prices unless configured)."""
    lines, hint, priced = [], None, None
    if record.state == SCOUTING:
        lines.append(f"scouting: {len(record.scout)} task(s) render first; {len(record.held)} held until they pass")
    elif record.state == HELD:
        lines.append(f"held: {record.reason}")
        lines += [f"  {finding}" for finding in record.findings[1:5]]
        hint = f"hint: azrender release {record.job_id}  (renders the {len(record.held)} held task(s))"
        priced = {} if record.reason.startswith("the budget") or "over the budget" in record.reason else None
    if record.estimate and record.state != DONE:
        e = record.estimate
        lines.append(f"estimate: {hours(e['node_hours'])} node-hours, {_cost(record, e.get('total'), e['currency'])} "
                     f"for {e['frames']} frames (from {e['measured_frames']} measured)")
        priced = e if e.get("total") else priced
    if record.budget is not None and record.state != DONE:
        lines.append(f"budget: {record.budget:g}")
        priced = {} if priced is None else priced
    if record.usage:
        u = record.usage
        lines.append(f"used: {hours(u['node_hours'])} node-hours, {_cost(record, u.get('cost'), u['currency'])}")
        priced = u if u.get("cost") else priced
    if priced is not None:
        lines.append(f"prices: {prices_label(priced)}")
    return lines + ([hint] if hint else [])  # the hint last, on its own line


def _cost(record: WatchRecord, amount: float | None, currency: str) -> str:
    from azrender.cost.estimate import money

    if record.vm_size == "local" and not amount:
        return "no charge (this machine)"
    if amount is None:
        return f"{record.vm_size} is not in the price table"
    return f"{money(amount, currency)} ({record.vm_size})"


def prices_label(amounts: dict) -> str:
    """Which prices an estimate or usage was priced with; the table's now when it has no label
    (a budget; a record written before labels)."""
    if amounts.get("prices"):
        return amounts["prices"]
    from azrender.cost.prices import load_prices
    from azrender.errors import AzrenderError

    try:
        return load_prices().label
    except AzrenderError as exc:  # a panel must still draw; the line says what is wrong
        return str(exc).splitlines()[0]


def hours(value: float) -> str:
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"
