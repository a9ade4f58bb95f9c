"""Keeps secrets out of everything azrender prints, logs, raises or writes into a job spec.

Two layers: patterns that catch any SAS signature, account key or connection string, and an
exact-value registry for secrets this process has loaded (so a key shows as ``***`` even when it
appears somewhere no pattern expects).
"""

from __future__ import annotations

import logging
import re

MASK = "***"

_registered: set[str] = set()

_PATTERNS = [
    # SAS signature in a query string, or a SAS on its own (an environment setting): sig=...
    (re.compile(r"(?i)((?:^|[?&;\s\"'])sig=)[^&\s\"'<>]+"), r"\1" + MASK),
    # Connection-string fields carrying secrets.
    (re.compile(r"(?i)((?:AccountKey|SharedAccessSignature|SharedAccessKey)=)[^;\s\"']+"), r"\1" + MASK),
    # Authorization headers (SharedKey account:signature, Bearer token).
    (re.compile(r"(?i)(SharedKey(?:Lite)?\s+[^:\s]+:)[A-Za-z0-9+/=]+"), r"\1" + MASK),
    (re.compile(r"(?i)(Bearer\s+)[A-Za-z0-9._\-]+"), r"\1" + MASK),
]


def register_secret(value: str | None) -> None:
    """Remember a secret value so :func:`redact` masks it wherever it appears."""
    if value and len(value) >= 8:
        _registered.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every known secret and every secret-looking token masked."""
    if not text:
        return text
    for value in _registered:
        if value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_obj(obj):
    """Redact every string inside a JSON-like structure (dicts, lists, strings)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


class RedactingFilter(logging.Filter):
    """Logging filter that renders each record and masks secrets before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record still must not leak its args
            message = str(record.msg)
        record.msg = redact(message)
        record.args = ()
        return True
