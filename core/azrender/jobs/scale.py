"""Scale advice for jobs that read their assets from an Azure Files share: every node of the pool
reads the job's files when its first task starts, so the share's throughput, per-file limits and
the storage account's egress set how long a big pool waits before its first frame.

Targets from Microsoft's "Scalability and performance targets for Azure Files" (classic shares):
standard (HDD, pay-as-you-go) shares serve up to 60 MiB/s (300 MiB/s with large file shares) and
60 MiB/s per file; premium (SSD provisioned v1) shares 100 + 0.04 x GiB + 0.06 x GiB MiB/s
(up to 10,340), 300 MiB/s per file; a standard storage account's egress is 120 Gbit/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIB = 1024 * 1024
WAIT_WARNING_SECONDS = 600  # longer than this before the first frame is worth a warning
ACCOUNT_EGRESS = 120e9 / 8  # bytes/s, standard account (US and Europe regions)


@dataclass(frozen=True)
class ShareTargets:
    tier: str
    share_mib_s: float
    file_mib_s: float


def targets(tier: str = "standard", quota_gib: int = 0, *, large_file_shares: bool = True) -> ShareTargets:
    """The throughput targets of a share of ``tier`` (standard | premium; premium scales with its
    provisioned size ``quota_gib``)."""
    if tier == "premium":
        gib = max(quota_gib, 100)
        return ShareTargets("premium", min(100 + math.ceil(0.04 * gib) + math.ceil(0.06 * gib), 10_340), 300)
    return ShareTargets("standard", 300 if large_file_shares else 60, 60)


def _time(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def share_advice(*, nodes: int, asset_bytes: int, largest_file: int, share: ShareTargets) -> list[str]:
    """Warnings (with the numbers) when ``nodes`` nodes reading ``asset_bytes`` (the largest file
    ``largest_file``) at once would keep the share busy for longer than :data:`WAIT_WARNING_SECONDS`."""
    if nodes <= 0 or asset_bytes <= 0:
        return []
    total = nodes * asset_bytes
    advice = []
    share_seconds = total / (share.share_mib_s * MIB)
    if share_seconds > WAIT_WARNING_SECONDS:
        advice.append(
            f"{nodes} nodes each reading {asset_bytes / 1e9:.2f} GB from a {share.tier} Azure Files share "
            f"({share.share_mib_s:.0f} MiB/s) need about {_time(share_seconds)} before every node renders; "
            + ("use a premium share (provisioned throughput) or --storage copy"
               if share.tier == "standard" else "provision a larger premium share or use --storage copy"))
    file_seconds = nodes * largest_file / (share.file_mib_s * MIB)
    if file_seconds > WAIT_WARNING_SECONDS:
        advice.append(f"the largest file ({largest_file / 1e9:.2f} GB) read by {nodes} nodes at {share.file_mib_s:.0f} "
                      f"MiB/s per file takes about {_time(file_seconds)}; split it or use --storage copy")
    account_seconds = total / ACCOUNT_EGRESS
    if account_seconds > WAIT_WARNING_SECONDS:
        advice.append(f"{total / 1e12:.1f} TB read at once exceeds what one storage account serves quickly "
                      f"(120 Gbit/s egress: about {_time(account_seconds)}); spread the assets over accounts")
    return advice
