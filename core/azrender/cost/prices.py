"""The price table azrender estimates with: shipped, dated (``prices.toml`` beside this module), and
overridable in config.toml's ``[prices]`` table, since nothing may be fetched at run time."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from azrender.errors import UsageError

TABLE = Path(__file__).with_name("prices.toml")
_NUMBERS = ("windows_per_vcpu_hour", "egress_per_gb", "storage_per_gb_month")
_TEXTS = ("as_of", "currency", "region")


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    currency: str
    region: str
    vm: dict = field(default_factory=dict)  # VM size (case-insensitive) -> price per node-hour, Linux
    windows_per_vcpu_hour: float = 0.0
    egress_per_gb: float = 0.0
    storage_per_gb_month: float = 0.0
    source: str = "shipped"  # "shipped" | the config file that overrode something
    list_as_of: str = ""  # the date of the shipped list prices under any override

    @property
    def label(self) -> str:
        """Where a price shown comes from, said wherever one is shown: azrender's dated list prices
        (not the artist's own, which agreements, reservations and spot change), or the config's."""
        listed = f"Azure list prices of {self.list_as_of} ({self.region}) shipped with azrender"
        if self.source == "shipped":
            return f"{listed}, not your account's (set yours under [prices] in config.toml)"
        dated = f" dated {self.as_of}" if self.as_of != self.list_as_of else ""
        return f"your [prices]{dated} from {self.source}, over {listed}"

    def node_hour(self, vm_size: str, node_os: str = "linux") -> float | None:
        """Price of one node-hour of ``vm_size``, or None when the table does not know it."""
        price = {k.lower(): v for k, v in self.vm.items()}.get(vm_size.lower())
        if price is None:
            return None
        if node_os == "windows":
            cores = re.match(r"(?i)standard_[a-z]+(\d+)", vm_size)
            price += self.windows_per_vcpu_hour * int(cores.group(1)) if cores else 0.0
        return price


def _toml(text: str, where: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10 (Blender 3.x, Maya 2024)
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{where}: malformed TOML: {exc}") from None


def _apply(table: PriceTable, doc: dict, where: str) -> PriceTable:
    def number(key, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise UsageError(f"{where}: price {key} must be a number >= 0, not {value!r}")
        return float(value)

    values = {}
    for key, value in doc.items():
        if key in _TEXTS:
            if not isinstance(value, str):
                raise UsageError(f"{where}: {key} in [prices] must be a string")
            values[key] = value
        elif key in _NUMBERS:
            values[key] = number(key, value)
        elif key == "vm" and isinstance(value, dict):
            values["vm"] = {**table.vm, **{size: number(size, price) for size, price in value.items()}}
        else:
            raise UsageError(f"{where}: unknown setting {key!r} in [prices]",
                             hint=f"known: {', '.join(sorted((*_TEXTS, *_NUMBERS, 'vm')))}")
    return replace(table, **values)


def shipped() -> PriceTable:
    doc = _toml(TABLE.read_text(encoding="utf-8"), str(TABLE))
    table = _apply(PriceTable(as_of="", currency="USD", region=""), doc, str(TABLE))
    return replace(table, list_as_of=table.as_of)


def load_prices(config: Path | None = None) -> PriceTable:
    """The shipped table with config.toml's ``[prices]`` on top (any key; ``[prices.vm]`` adds or
    replaces sizes)."""
    from azrender.settings import config_path

    table = shipped()
    path = config or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return table
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    overrides = _toml(text, str(path)).get("prices")
    if overrides is None:
        return table
    if not isinstance(overrides, dict):
        raise UsageError(f"{path}: prices must be a table ([prices])")
    return replace(_apply(table, overrides, str(path)), source=str(path))
