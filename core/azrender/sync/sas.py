"""What a shared access signature grants, read locally from its fields (no request needed): its
permissions (``sp``), expiry (``se``) and start (``st``). An expired or read-only SAS is then one
line before any transfer, not an "access denied" per file after retries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl

NAMES = {"r": "read", "a": "add", "c": "create", "w": "write", "d": "delete", "l": "list", "x": "delete versions",
         "t": "tags", "f": "filter", "m": "move", "e": "execute", "i": "immutability", "p": "process", "u": "update",
         "y": "permanent delete"}
# What each store operation needs; a tuple entry is "any one of these letters".
NEEDS = {"upload": ("l", ("c", "w")), "download": ("r", "l")}


@dataclass(frozen=True)
class Grant:
    permissions: str
    expiry: datetime | None
    start: datetime | None
    account: bool = False  # an account SAS (ss/srt): every container of the account, maybe other services

    def beyond(self, needed: str, until: datetime) -> list[str]:
        """How this SAS grants more than ``needed`` permissions on one container until ``until``."""
        extra = [NAMES.get(x, x) for x in self.permissions if x not in needed]
        found = []
        if self.account:
            found.append("is an account SAS (every container of the account)")
        if extra:
            found.append(f"grants {', '.join(extra)} (sp={self.permissions})")
        if self.expiry is None or self.expiry > until + timedelta(days=1):
            found.append(f"is valid until {self.expiry:%Y-%m-%d}" if self.expiry else "has no expiry of its own")
        return found

    def problem(self, operation: str, now: datetime | None = None) -> str | None:
        """Why this SAS cannot do ``operation`` (``upload`` | ``download``), or None."""
        now = now or datetime.now(timezone.utc)
        if self.expiry is not None and self.expiry <= now:
            return f"the SAS in the store URL expired on {self.expiry:%Y-%m-%d %H:%M} UTC; make a new one"
        if self.start is not None and self.start > now:
            return f"the SAS in the store URL is valid only from {self.start:%Y-%m-%d %H:%M} UTC (check this clock)"
        lacking = []
        for need in NEEDS.get(operation, ()):
            letters = need if isinstance(need, tuple) else (need,)
            if not set(letters) & set(self.permissions):
                lacking.append(" or ".join(NAMES[x] for x in letters))
        if lacking:
            granted = ", ".join(NAMES.get(x, x) for x in self.permissions) or "nothing"
            return (f"the SAS in the store URL grants {granted} (sp={self.permissions}), and {operation} needs "
                    f"{' and '.join(lacking)}; make one with sp={_suggest(operation)}")
        return None


def _suggest(operation: str) -> str:
    return "rl" if operation == "download" else "racwl"


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            return None  # the service judges a field it cannot parse; so will the first request
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def parse(token: str) -> Grant:
    fields = dict(parse_qsl(token.lstrip("?"), keep_blank_values=True))
    return Grant(fields.get("sp", ""), _time(fields.get("se")), _time(fields.get("st")),
                 account="ss" in fields or "srt" in fields)
