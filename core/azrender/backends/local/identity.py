"""Which process a recorded pid still is. Pids are reused (after a reboot, or a long uptime): a
runner that finds a task's process group recorded by a dead runner kills it only when the group
leader is provably the same process, by this boot's id and the process's start time."""

from __future__ import annotations

from pathlib import Path


def process_identity(pid: int) -> str | None:
    """``<boot id>:<start time in clock ticks>`` of ``pid``, or None where that cannot be read
    (the process is gone, or no /proc: then nothing can be proven)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # the name may hold spaces and ')'
    return f"{boot}:{fields[19]}" if len(fields) > 19 else None  # field 22 of stat: starttime


def still_the_same(pid: int, identity: str | None) -> bool:
    return identity is not None and process_identity(pid) == identity
