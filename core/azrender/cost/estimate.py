"""What a job will cost, from frames that were really rendered, and what it did cost.

The estimate is the scout frames' measured node time per frame x the job's frames (node-hours),
spread over the pool's nodes (wall-clock hours), x the VM size's price per node-hour, plus storage
transfer: the frames downloaded (egress) and a month of the store holding assets and outputs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from azrender.cost.prices import PriceTable

GB = 1e9


@dataclass(frozen=True)
class Measured:
    """Tasks that finished: how many frames they rendered, their node time and output bytes."""

    frames: int
    node_seconds: float
    output_bytes: int = 0


@dataclass(frozen=True)
class Estimate:
    frames: int
    nodes: int
    vm_size: str
    seconds_per_frame: float
    node_hours: float
    wall_hours: float
    price_per_node_hour: float | None  # None: the VM size is not in the table
    compute: float | None
    transfer: float
    currency: str
    prices_as_of: str
    measured_frames: int
    prices: str = ""  # PriceTable.label: which prices, said beside every amount

    @property
    def total(self) -> float | None:
        return None if self.compute is None else self.compute + self.transfer

    def to_json(self) -> dict:
        return {**asdict(self), "total": self.total}

    def line(self) -> str:
        """One line for the CLI and the host panels."""
        time = (f"{self.frames} frames x {self.seconds_per_frame:.1f} s = {self.node_hours:.2f} node-hours, "
                f"about {_duration(self.wall_hours)} on {self.nodes} node(s)")
        if self.total is None:
            return f"{time}; {self.vm_size} is not in the price table (add it under [prices.vm] in config.toml)"
        return f"{time}; {money(self.total, self.currency)} ({self.vm_size}; {self.prices})"


def money(amount: float, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _duration(hours: float) -> str:
    minutes = hours * 60
    return f"{minutes:.0f} min" if minutes < 90 else f"{hours:.1f} h"


def estimate(measured: Measured, *, frames: int, nodes: int, vm_size: str, node_os: str, prices: PriceTable,
             upload_bytes: int = 0, azure: bool = True) -> Estimate:
    """The whole job's estimate from ``measured`` frames; ``azure`` False (this machine) costs no transfer."""
    if measured.frames < 1:
        raise ValueError("an estimate needs at least one measured frame")
    per_frame = measured.node_seconds / measured.frames
    node_hours = per_frame * frames / 3600
    nodes = max(1, nodes)
    price = prices.node_hour(vm_size, node_os)
    transfer = 0.0
    if azure:
        outputs = measured.output_bytes / measured.frames * frames
        transfer = outputs / GB * prices.egress_per_gb + (outputs + upload_bytes) / GB * prices.storage_per_gb_month
    # a pool's nodes each render whole tasks: the wall-clock time is at least one frame
    wall = max(node_hours / nodes, per_frame / 3600)
    return Estimate(frames=frames, nodes=nodes, vm_size=vm_size, seconds_per_frame=per_frame,
                    node_hours=node_hours, wall_hours=wall, price_per_node_hour=price,
                    compute=None if price is None else node_hours * price, transfer=transfer,
                    currency=prices.currency, prices_as_of=prices.as_of, measured_frames=measured.frames,
                    prices=prices.label)


def spent(node_seconds: float, *, vm_size: str, node_os: str, prices: PriceTable) -> float | None:
    """The compute cost of ``node_seconds`` of rendering, or None for a VM size the table lacks."""
    price = prices.node_hour(vm_size, node_os)
    return None if price is None else node_seconds / 3600 * price
