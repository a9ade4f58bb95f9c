"""The autoscale formula of pools azrender creates: as many nodes as the pending tasks need (each
node runs ``slots_per_node // slots_per_task`` renders at once), at most ``max_nodes``; once
nothing is pending the nodes stay ``idle_minutes`` (the next job finds its assets cached), then
the pool scales to zero. Nodes leave only when their task completed (``taskcompletion``).

Written in Batch's formula language (statements ``$name = expr;``; no rounding functions, so the
ceiling is taken with ``%``). ``tests/autoscale_eval.py`` evaluates it by the documented rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from azrender.errors import UsageError

EVALUATION_MINUTES = 5  # Batch's minimum evaluation interval


@dataclass(frozen=True)
class AutoscaleSpec:
    max_nodes: int
    idle_minutes: int = 15
    spot: bool = False  # scale Spot nodes ($TargetLowPriorityNodes) instead of dedicated ones

    def __post_init__(self):
        if self.max_nodes < 1:
            raise UsageError(f"autoscale max_nodes must be at least 1, not {self.max_nodes}")
        if self.idle_minutes < 0:
            raise UsageError(f"autoscale idle_minutes cannot be negative ({self.idle_minutes})")


def formula(spec: AutoscaleSpec, *, slots_per_node: int, slots_per_task: int) -> str:
    renders_per_node = max(1, slots_per_node // max(1, slots_per_task))
    target, other = ("$TargetLowPriorityNodes", "$TargetDedicatedNodes") if spec.spot else \
        ("$TargetDedicatedNodes", "$TargetLowPriorityNodes")
    current = "$CurrentLowPriorityNodes" if spec.spot else "$CurrentDedicatedNodes"
    window = f"TimeInterval_Minute * {max(spec.idle_minutes, 1)}"
    return "\n".join([
        f"$cap = {spec.max_nodes};",
        f"$perNode = {renders_per_node};",
        "$pending = max($PendingTasks.GetSample(1));",
        f"$recent = $PendingTasks.GetSamplePercent({window}) < 50 ? $pending : max($PendingTasks.GetSample({window}));",
        "$need = $pending + $perNode - 1;",
        "$wanted = min($cap, ($need - $need % $perNode) / $perNode);",
        f"{target} = $pending > 0 ? $wanted : ($recent > 0 ? min($cap, {current}) : 0);",
        f"{other} = 0;",
        "$NodeDeallocationOption = taskcompletion;",
    ])
