"""Bad nodes: a node on which every task fails is quarantined after the job's limit of failed
attempts (or at once when its job preparation task fails); the job completes on the others and
``status`` names the node. The local backend for real, then real Blender through the CLI."""

from __future__ import annotations

import json
import time

import pytest
from azure.batch import models as m

from azrender.backends.local import LocalBatchClient
from test_jobs_batch import client, recorder  # noqa: F401  (fixtures: the SDK client against a recording endpoint)
from test_jobs_batch import job as batch_job
from test_local_backend import bash, job, task
from test_main_job import assert_frame_shows_textures, demo  # noqa: F401  (demo is a fixture)

LIMIT = [m.BatchMetadataItem(name="azrender_node_failure_limit", value="2")]


def test_a_node_failing_every_task_is_quarantined_and_the_job_completes_elsewhere(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=3)
    client.create_job(job(metadata=LIMIT))
    client.inject_node_fault("local", "node-0")
    retry = m.BatchTaskConstraints(max_task_retry_count=2)
    client.create_tasks("job1", [task(f"t{i}", bash("sleep 0.3; echo $AZ_BATCH_NODE_ID > done"), constraints=retry)
                                 for i in range(6)])
    status = client.wait("job1", timeout=60)
    assert status.failed == [] and status.count("completed") == 6
    assert {t.node for t in status.tasks} <= {"node-1", "node-2"}, "no task finished on the broken node"
    assert status.quarantined == (("node-0", "2 tasks of this job failed there"),)
    assert all(t.retries <= 1 for t in status.tasks), "a task that failed on the broken node was retried elsewhere"


def test_tasks_failing_everywhere_do_not_quarantine_the_last_node(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=2)
    client.create_job(job(metadata=LIMIT))
    retry = m.BatchTaskConstraints(max_task_retry_count=2)
    client.create_tasks("job1", [task(f"bad{i}", bash("exit 1"), constraints=retry) for i in range(3)] +
                        [task(f"good{i}", bash("sleep 0.2"), constraints=retry) for i in range(3)])
    status = client.wait("job1", timeout=60)
    assert sorted(t.id for t in status.failed) == ["bad0", "bad1", "bad2"]
    assert all(t.exit_code == 0 for t in status.tasks if t.id.startswith("good")), "one node stayed usable"
    assert len(status.quarantined) <= 1


def test_a_node_whose_preparation_task_fails_gets_none_of_the_jobs_tasks(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=2)
    client.create_job(job(prep=bash('[ "$AZ_BATCH_NODE_ID" != node-0 ]'), metadata=LIMIT))
    client.create_tasks("job1", [task(f"t{i}", bash("sleep 0.2")) for i in range(4)])
    status = client.wait("job1", timeout=60)
    assert status.failed == [] and {t.node for t in status.tasks} == {"node-1"}
    assert [t.node for t in status.preparation_failed] == ["node-0"] and status.quarantined == ()


def test_without_a_limit_nothing_is_quarantined(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_job(job())
    client.inject_node_fault("local", "node-0")
    client.create_tasks("job1", [task("t", bash("true"), constraints=m.BatchTaskConstraints(max_task_retry_count=1))])
    status = client.wait("job1", timeout=30)
    assert [t.id for t in status.failed] == ["t"] and status.quarantined == ()
    assert "node-0: injected node failure" in status.failed[0].stderr_tail


@pytest.mark.blender
@pytest.mark.slow
def test_blender_job_completes_around_a_broken_node_and_status_names_it(run_cli, demo, tmp_path):  # noqa: F811
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text("[profiles.farm]\nnode_failure_limit = 2\n")
    client = LocalBatchClient(tmp_path / "state" / "local-batch", node_count=3)
    client.get_pool("local")  # the implicit pool, with three nodes
    client.inject_node_fault("local", "node-0")
    proc = run_cli("submit", demo / "demo.blend", "--frames", "1-4", "--wait", "--download", tmp_path / "out",
                   "--json", timeout=900)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"]["failed"] == []
    assert result["status"]["quarantined_nodes"] == [{"node": "node-0", "reason": "2 tasks of this job failed there"}]
    for n in range(1, 5):
        assert_frame_shows_textures(tmp_path / "out" / "render" / f"frame_{n:04d}.png", n)
    text = run_cli("status", result["job_id"]).stdout
    assert "  node node-0 quarantined: 2 tasks of this job failed there" in text


def _node(node_id: str, *recent) -> dict:
    """A node of the recorder's pool; ``recent``: (job, task, exit code or None when requeued)."""
    return {"id": node_id, "state": "idle", "schedulingState": "enabled", "recentTasks": [
        {"jobId": job, "taskId": task, "taskUrl": f"https://x/jobs/{job}/tasks/{task}", "taskState": "completed",
         "executionInfo": {"retryCount": 0, "requeueCount": 0,
                           **({"exitCode": code, "result": "failure" if code else "success"} if code is not None else {})}}
        for job, task, code in recent]}


def test_on_batch_the_nodes_over_the_limit_get_scheduling_disabled_and_status_names_them(client, recorder):  # noqa: F811
    from azrender.backends import batch

    batch.submit_batch(client, _requests(batch_job("1-5", node_failure_limit=2)))
    tasks = recorder.tasks["job1"]
    # frames-0002 failed on tvm-bad, then its retry succeeded on tvm-ok: only tvm-bad's own list of
    # recent tasks tells; frames-0005 was requeued from the preempted tvm-spot (no failure).
    for task_id, node, code in (("frames-0001", "tvm-bad", 1), ("frames-0002", "tvm-ok", 0),
                                ("frames-0003", "tvm-ok", 1), ("frames-0004", "tvm-ok", 0), ("frames-0005", "tvm-ok", 0)):
        tasks[task_id].update(state="completed", nodeInfo={"nodeId": node},
                              executionInfo={"exitCode": code, "retryCount": 1, "requeueCount": 0})
    recorder.nodes["pool1"] = [
        _node("tvm-bad", ("job1", "frames-0001", 1), ("job1", "frames-0002", 1), ("other", "frames-0009", 1)),
        _node("tvm-ok", ("job1", "frames-0002", 0), ("job1", "frames-0003", 1), ("job1", "frames-0004", 0)),
        _node("tvm-spot", ("job1", "frames-0005", None), ("job1", "frames-0003", None)),
        _node("tvm-noprep")]
    recorder.preparation["job1"] = [{"poolId": "pool1", "nodeId": "tvm-noprep", "jobPreparationTaskExecutionInfo": {
        "state": "completed", "exitCode": 1, "retryCount": 0, "result": "failure",
        "startTime": "2026-01-01T00:00:00Z"}}]
    status = batch.quarantine_nodes(client, "job1", batch.batch_status(client, "job1"))
    assert status.quarantined == (("tvm-bad", "2 tasks of this job failed there"),
                                  ("tvm-noprep", "its job preparation task failed"))
    assert recorder.disabled == {("pool1", "tvm-bad"): {"nodeDisableSchedulingOption": "taskcompletion"},
                                 ("pool1", "tvm-noprep"): {"nodeDisableSchedulingOption": "taskcompletion"}}
    assert ("GET", "/pools/pool1/nodes") in recorder.calls()
    recorder.disabled.clear()
    again = batch.quarantine_nodes(client, "job1", batch.batch_status(client, "job1"))
    assert again.quarantined == status.quarantined and recorder.disabled == {}, "named again, not disabled twice"

    batch.submit_batch(client, _requests(batch_job("1-2", job_id="job2")))  # no limit asked: nothing disabled
    recorder.tasks["job2"]["frames-0001"].update(state="completed", nodeInfo={"nodeId": "tvm-ok"},
                                                 executionInfo={"exitCode": 1, "retryCount": 0, "requeueCount": 0})
    assert batch.quarantine_nodes(client, "job2", batch.batch_status(client, "job2")).quarantined == ()
    assert recorder.disabled == {}


def test_on_batch_tasks_failing_on_every_node_leave_the_last_one_scheduling(client, recorder):  # noqa: F811
    from azrender.backends import batch

    batch.submit_batch(client, _requests(batch_job("1-4", node_failure_limit=2)))
    for n, node in ((1, "tvm-a"), (2, "tvm-a"), (3, "tvm-a"), (4, "tvm-b")):
        recorder.tasks["job1"][f"frames-{n:04d}"].update(state="completed", nodeInfo={"nodeId": node},
                                                         executionInfo={"exitCode": 1, "retryCount": 1, "requeueCount": 0})
    recorder.nodes["pool1"] = [_node("tvm-a", *(("job1", f"frames-{n:04d}", 1) for n in (1, 2, 3))),
                               _node("tvm-b", *(("job1", f"frames-{n:04d}", 1) for n in (1, 2, 3, 4)))]
    status = batch.quarantine_nodes(client, "job1", batch.batch_status(client, "job1"))
    assert status.quarantined == (("tvm-b", "4 tasks of this job failed there"),), "the scene is at fault, not tvm-a"
    assert list(recorder.disabled) == [("pool1", "tvm-b")]


def _requests(spec):
    from azrender.jobs.batch_models import to_batch_models

    return to_batch_models(spec)


def test_a_preempted_spot_node_requeues_its_task_without_using_a_retry_and_comes_back_empty(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_pool(m.BatchPoolCreateOptions(id="spot", vm_size="local", target_low_priority_nodes=1,
                                                start_task=m.BatchStartTask(command_line=bash("echo started >> ../starts"))))
    client.create_job(job(pool="spot"))
    leftover = client.node("spot", "node-0").shared / "from-the-old-vm"
    once = bash('echo "$AZ_BATCH_NODE_IS_DEDICATED" >> $AZ_BATCH_NODE_SHARED_DIR/attempts; sleep 3')
    client.create_tasks("job1", [task("chunk", once, constraints=m.BatchTaskConstraints(max_task_retry_count=0))])
    attempts = client.node("spot", "node-0").shared / "attempts"
    deadline = time.monotonic() + 30
    while not attempts.exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    leftover.write_text("x")
    client.preempt_node("spot", "node-0")
    status = client.wait("job1", timeout=60)
    [chunk] = status.tasks
    assert (chunk.exit_code, chunk.retries, chunk.failure) == (0, 0, ""), "a preemption is not a failed try"
    assert client.get_task("job1", "chunk").execution_info.requeue_count == 1 and chunk.requeues == 1
    assert attempts.read_text() == "false\n", "the new VM's disk starts empty (the first attempt's line is gone)"
    assert not leftover.exists()
    assert (client.node("spot", "node-0").startup / "starts").read_text() == "started\n", "start task ran on the new VM"
