"""Spot nodes, and the Batch account setting that decides whether a pool may have them.

Azure retired low-priority nodes on 30 September 2025: a Batch account in *Batch-managed* pool
allocation mode ("BatchService") can no longer get the nodes ``targetLowPriorityNodes`` asks for;
only accounts in *user-subscription* mode ("UserSubscription") get Spot VMs that way. The mode is a
property of the account in Azure Resource Manager (the Batch service API does not show it): the
profile names it (``pool_allocation_mode``), or gives the account's ARM id
(``batch_account_resource_id``) and azrender reads it with the azure-identity credential.
On Spot nodes Batch requeues the tasks of a preempted node without counting a retry.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from azrender.enums import PoolAllocationMode
from azrender.errors import UsageError

ARM_URL = "https://management.azure.com"
ARM_API_VERSION = "2024-07-01"


def read_mode(resource_id: str, credential, *, arm_url: str = ARM_URL) -> PoolAllocationMode:
    """``properties.poolAllocationMode`` of the Batch account ``resource_id`` (its ARM id)."""
    if not resource_id.lower().startswith("/subscriptions/") or "/batchaccounts/" not in resource_id.lower():
        raise UsageError(f"batch_account_resource_id {resource_id!r} is not a Batch account's ARM id",
                         hint="/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Batch/batchAccounts/NAME")
    token = credential.get_token(f"{ARM_URL}/.default").token
    request = urllib.request.Request(f"{arm_url.rstrip('/')}{resource_id}?api-version={ARM_API_VERSION}",
                                     headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            mode = json.load(response).get("properties", {}).get("poolAllocationMode")
    except urllib.error.HTTPError as exc:
        raise UsageError(f"could not read the Batch account {resource_id.rsplit('/', 1)[-1]} from Azure Resource "
                         f"Manager (HTTP {exc.code})", hint="check batch_account_resource_id and your Azure login "
                         "(it needs Reader on the account), or set pool_allocation_mode") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise UsageError(f"could not reach Azure Resource Manager for the Batch account's pool allocation mode: {exc}",
                         hint="set pool_allocation_mode in the profile") from None
    return PoolAllocationMode.parse(mode or "", "the Batch account's poolAllocationMode")


def check_spot(pool, settings, *, credential=None, arm_url: str = ARM_URL) -> None:
    """Refuse a pool with Spot nodes (fixed or autoscaled) unless the account can have them."""
    autoscale = getattr(pool, "autoscale", None)
    if not (pool.spot_nodes or (autoscale is not None and autoscale.spot)):
        return
    if settings.pool_allocation_mode:
        mode = PoolAllocationMode.parse(settings.pool_allocation_mode, "pool_allocation_mode")
    elif settings.batch_account_resource_id:
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        mode = read_mode(settings.batch_account_resource_id, credential, arm_url=arm_url)
    else:
        raise UsageError(f"pool {pool.id} asks for Spot nodes, and azrender cannot tell whether this Batch account "
                         "may have them", hint="set batch_account_resource_id (azrender reads the account's pool "
                         "allocation mode) or pool_allocation_mode in the profile")
    if mode is not PoolAllocationMode.USER_SUBSCRIPTION:
        raise UsageError(f"pool {pool.id} asks for Spot nodes, but this Batch account allocates pools in Batch-managed "
                         "mode, which has had no Spot or low-priority nodes since 30 September 2025",
                         hint="use dedicated nodes (dedicated_nodes, or autoscale without spot), or a Batch account "
                         "in user-subscription pool allocation mode")
