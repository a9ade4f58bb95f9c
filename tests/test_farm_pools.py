"""Pools that scale and Spot done right, from the CLI's dry run: the pool body carries an autoscale
formula (checked by evaluating it under Batch's documented formula rules), tasks take the slots a
render needs, the job its priority and parallelism, and every body validates against Microsoft's
Batch REST specification. Spot nodes are refused, in one line, unless the account can have them;
the account's pool allocation mode is read from Azure Resource Manager (a local endpoint here)."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import batch_spec
from autoscale_eval import Evaluator
from conftest import SHARED_SCENES

POOL = """
[profiles.studio]
batch_url = "https://studio.westeurope.batch.azure.com"
storage_url = "https://studioassets.blob.core.windows.net/renders/show1"
pool_id = "blender-auto"
priority = 50
max_parallel_tasks = 8
{extra}
[profiles.studio.pool]
vm_size = "Standard_D16s_v5"
image = "canonical:0001-com-ubuntu-server-jammy:22_04-lts:latest"
node_agent_sku = "batch.node.ubuntu 22.04"
task_slots = 4
max_nodes = 5
idle_minutes = 10
{pool_extra}
"""


@pytest.fixture
def cube(tmp_path):
    scene = tmp_path / "cube"
    shutil.copytree(SHARED_SCENES / "deadline_maya_cube" / "scene", scene)
    return scene / "cube.ma"


def dry_run(run_cli, tmp_path, scene, extra="", pool_extra=""):
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "config.toml").write_text(POOL.format(extra=extra, pool_extra=pool_extra))
    return run_cli("submit", scene, "--dry-run", "--json", "--frames", "1-6")


def nodes(formula: str, pending: list[float], current: float = 0, target="$TargetDedicatedNodes") -> float:
    values = Evaluator({"$PendingTasks": pending}, {"$CurrentDedicatedNodes": current,
                                                    "$CurrentLowPriorityNodes": current}).run(formula)
    assert values["$NodeDeallocationOption"] == "taskcompletion"
    return values[target]


def test_an_autoscaled_pool_follows_pending_tasks_up_to_its_cap_and_scales_to_zero_when_idle(run_cli, tmp_path, cube):
    proc = dry_run(run_cli, tmp_path, cube)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    pool, job, tasks = doc["pool"], doc["job"], doc["tasks"]
    assert batch_spec.errors(pool, "BatchPoolCreateOptions") == []
    assert batch_spec.errors(job, "BatchJobCreateOptions") == []
    assert all(batch_spec.errors(t, "BatchTaskCreateOptions") == [] for t in tasks)
    assert pool["enableAutoScale"] is True and pool["autoScaleEvaluationInterval"] == "PT05M00S"
    assert "targetDedicatedNodes" not in pool and "targetLowPriorityNodes" not in pool  # Batch refuses both
    assert (job["priority"], job["maxParallelTasks"]) == (50, 8)
    assert {t["requiredSlots"] for t in tasks} == {4}, "a render takes the whole node (4 slots)"
    assert {t["constraints"]["retentionTime"] for t in tasks} == {"PT02H00M00S"}
    formula = pool["autoScaleFormula"]
    every_30s = 2  # samples per minute
    assert nodes(formula, [0] * 40 + [37]) == 5, "37 pending renders, capped at 5 nodes"
    assert nodes(formula, [0] * 40 + [3]) == 3, "one render per node"
    assert nodes(formula, [6] * 20 + [0] * 5, current=4) == 4, "idle less than 10 minutes: the nodes wait"
    assert nodes(formula, [6] * 5 + [0] * 10 * every_30s, current=4) == 0, "idle 10 minutes: scale to zero"
    assert nodes(formula, [0] * 40 + [3], target="$TargetLowPriorityNodes") == 0


def test_spot_is_refused_in_one_line_unless_the_account_is_in_user_subscription_mode(run_cli, tmp_path, cube):
    unknown = dry_run(run_cli, tmp_path, cube, pool_extra="spot = true")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert "asks for Spot nodes, and azrender cannot tell whether this Batch account may have them" in unknown.stderr
    assert "batch_account_resource_id" in unknown.stderr
    managed = dry_run(run_cli, tmp_path, cube, extra='pool_allocation_mode = "BatchService"', pool_extra="spot = true")
    assert managed.returncode == 2 and len(managed.stderr.strip().splitlines()) <= 2
    assert "Batch-managed mode, which has had no Spot or low-priority nodes since 30 September 2025" in managed.stderr
    typo = dry_run(run_cli, tmp_path, cube, extra='pool_allocation_mode = "Batch"', pool_extra="spot = true")
    assert typo.returncode == 2 and "pool_allocation_mode: unknown pool allocation mode 'Batch'" in typo.stderr
    proc = dry_run(run_cli, tmp_path, cube, extra='pool_allocation_mode = "UserSubscription"', pool_extra="spot = true")
    assert proc.returncode == 0, proc.stderr
    pool = json.loads(proc.stdout)["pool"]
    assert batch_spec.errors(pool, "BatchPoolCreateOptions") == []
    formula = pool["autoScaleFormula"]
    assert nodes(formula, [0] * 40 + [3], target="$TargetLowPriorityNodes") == 3
    assert nodes(formula, [0] * 40 + [3]) == 0, "Spot only: no dedicated node"


def test_a_fixed_spot_pool_validates_against_the_rest_spec(run_cli, tmp_path, cube):
    config = POOL.replace("max_nodes = 5\n", "spot_nodes = 3\n")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(config.format(extra='pool_allocation_mode = "usersubscription"',
                                                                   pool_extra=""))
    proc = run_cli("submit", cube, "--dry-run", "--json", "--frames", "1-2")
    assert proc.returncode == 0, proc.stderr
    pool = json.loads(proc.stdout)["pool"]
    assert pool["targetLowPriorityNodes"] == 3 and "enableAutoScale" not in pool
    assert batch_spec.errors(pool, "BatchPoolCreateOptions") == []


class _Token:
    token = "arm-token"


class _Credential:
    def __init__(self):
        self.scopes = []

    def get_token(self, scope):
        self.scopes.append(scope)
        return _Token()


@pytest.mark.parametrize("mode, refused", [("BatchService", True), ("UserSubscription", False)])
def test_the_pool_allocation_mode_is_read_from_resource_manager(mode, refused):
    from azrender.backends.allocation import check_spot
    from azrender.errors import UsageError
    from azrender.jobs.model import ImageRef, PoolSpec
    from azrender.settings import Settings

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            body = json.dumps({"name": "studio", "properties": {"poolAllocationMode": mode}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    account = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/studio"
    pool = PoolSpec(id="p", vm_size="v", image=ImageRef("a", "b", "c"), node_agent_sku="n", spot_nodes=2)
    credential = _Credential()
    try:
        check = lambda: check_spot(pool, Settings(batch_account_resource_id=account), credential=credential,  # noqa: E731
                                   arm_url=f"http://127.0.0.1:{server.server_address[1]}")
        if refused:
            with pytest.raises(UsageError, match="Batch-managed mode"):
                check()
        else:
            check()
    finally:
        server.shutdown()
    assert seen == [(f"{account}?api-version=2024-07-01", "Bearer arm-token")]
    assert credential.scopes == ["https://management.azure.com/.default"]
