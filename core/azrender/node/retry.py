"""One retry policy for store requests, on workstations (``azrender.sync.blob_rest``) and render
nodes (``store``): which answers are worth another try, how many tries, how long to wait.
``AZRENDER_STORE_RETRIES`` (default 4) and ``AZRENDER_STORE_BACKOFF`` (the first wait in seconds,
default 0.5, doubling each time; tests shorten it) tune it. Standard library only."""

from __future__ import annotations

import os
import random

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})  # timeouts, throttling, server errors
MAX_DELAY = 30.0


def retries() -> int:
    return int(os.environ.get("AZRENDER_STORE_RETRIES", "4"))


def delay(attempt: int, retry_after: str | None = None) -> float:
    """Seconds to wait before retry ``attempt + 1``: exponential with jitter, at least what the
    service asked for (``Retry-After``)."""
    base = float(os.environ.get("AZRENDER_STORE_BACKOFF", "0.5"))
    wait = min(MAX_DELAY, base * 2 ** attempt) * random.uniform(0.8, 1.2)
    if retry_after and retry_after.isdigit():
        wait = max(wait, float(retry_after))
    return wait
