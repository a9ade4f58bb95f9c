"""Tell the artist a job ended: a desktop notification where the desktop offers one, and a webhook
(JSON that Slack and Teams incoming webhooks accept: their ``text``, plus the job's numbers for
anything else that listens). Both from the job's profile in config.toml::

    [profiles.studio]
    notify_webhook = "https://hooks.slack.com/services/..."
    notify_desktop = true              # the default

A notification that cannot be delivered is logged in one line; it never fails the job.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

log = logging.getLogger(__name__)
TIMEOUT = 10


def summary(record, status) -> tuple[str, str]:
    """(title, one line): what ended and how."""
    from azrender.cost.estimate import money

    failed = len(status.failed)
    usage = record.usage or {}
    title = f"azrender: {record.job_id} {'failed' if failed else 'finished'}"
    rendered = len(status.tasks) - failed
    line = f"{rendered} of {len(status.tasks)} task(s) rendered" + (f", {failed} failed" if failed else "")
    if usage.get("node_hours") is not None:
        line += f"; {usage['node_hours']:.2f} node-hours"
        if usage.get("cost") is not None:
            line += f", {money(usage['cost'], usage['currency'])}"
    return title, line


def payload(record, status) -> dict:
    title, line = summary(record, status)
    usage = record.usage or {}
    return {"text": f"{title}: {line}", "job_id": record.job_id, "backend": record.backend,
            "state": "failed" if status.failed else "completed", "tasks": len(status.tasks),
            "failed": len(status.failed), "node_hours": usage.get("node_hours"), "cost": usage.get("cost"),
            "currency": usage.get("currency")}


def job_finished(record, status) -> None:
    from azrender import jobrecord
    from azrender.settings import load_settings

    job = jobrecord.load(record.job_id)
    try:
        settings = load_settings(job.profile if job else None)
    except Exception as exc:  # a config broken since submission must not hide the job's end
        log.warning("no notification for %s: %s", record.job_id, exc)
        return
    title, line = summary(record, status)
    if settings.notify_desktop:
        desktop(title, line)
    if settings.notify_webhook:
        webhook(settings.notify_webhook, payload(record, status))


def webhook(url: str, body: dict) -> bool:
    """POST ``body`` as JSON; True when the receiver took it (2xx)."""
    from urllib.error import URLError
    from urllib.request import Request, urlopen

    from azrender.redact import register_secret

    register_secret(url)  # a Slack or Teams webhook URL is its own credential
    where = urlsplit(url).hostname or "?"
    request = Request(url, data=json.dumps(body).encode(), method="POST",
                      headers={"Content-Type": "application/json", "User-Agent": "azrender"})
    try:
        with urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 - the URL is the user's own setting
            return 200 <= answer.status < 300
    except (URLError, OSError, ValueError) as exc:
        log.warning("the webhook at %s did not take the notification: %s", where, getattr(exc, "reason", exc))
        return False


def desktop(title: str, line: str) -> bool:
    """A desktop notification (notify-send on Linux desktops, Notification Center on macOS)."""
    if sys.platform == "darwin" and shutil.which("osascript"):
        script = f"display notification {json.dumps(line)} with title {json.dumps(title)}"
        argv = ["osascript", "-e", script]
    elif shutil.which("notify-send") and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        argv = ["notify-send", "--app-name=azrender", title, line]
    else:
        return False  # no desktop here (a farm node, ssh, CI): the webhook is the way
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT).returncode == 0
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("desktop notification failed: %s", exc)
        return False
