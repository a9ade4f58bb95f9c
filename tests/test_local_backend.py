"""The local backend runs the azure-batch SDK's own models like the Batch service would: real
processes on simulated nodes (folders), a detached runner per job, state other processes can read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from azure.batch import models as m
from azure.core.exceptions import ResourceNotFoundError

from azrender.backends.local import LocalBatchClient
from azrender.errors import JobError
from conftest import cli_env

pytestmark = pytest.mark.timeout(60)


def bash(script: str) -> str:
    """A command line that needs variables must call a shell itself, as on Batch."""
    return f"/bin/bash -c '{script}'"


def job(job_id="job1", pool="local", *, prep: str | None = None, release: str | None = None, **kw):
    return m.BatchJobCreateOptions(
        id=job_id, pool_info=m.BatchPoolInfo(pool_id=pool),
        job_preparation_task=m.BatchJobPreparationTask(command_line=prep) if prep else None,
        job_release_task=m.BatchJobReleaseTask(command_line=release) if release else None, **kw)


def task(task_id: str, command_line: str, **kw) -> m.BatchTaskCreateOptions:
    return m.BatchTaskCreateOptions(id=task_id, command_line=command_line, **kw)


def output(pattern: str, url: str, path: str | None = None, when: str = "taskcompletion") -> m.OutputFile:
    return m.OutputFile(
        file_pattern=pattern,
        destination=m.OutputFileDestination(container=m.OutputFileBlobContainerDestination(container_url=url, path=path)),
        upload_options=m.OutputFileUploadConfiguration(upload_condition=when))


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_for(condition, what: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def pid_in(path: Path) -> int | None:
    """The pid a task wrote, once it is fully written."""
    text = path.read_text() if path.exists() else ""
    return int(text) if text.endswith("\n") else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not running: the test process is not its parent, so look at its state
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(")")[-1].split()[0] != "Z"


PREP = bash('echo "$AZ_BATCH_NODE_ID $AZ_BATCH_TASK_ID" >> "$AZ_BATCH_NODE_SHARED_DIR/prep.log"')
RELEASE = bash('echo "$AZ_BATCH_JOB_ID" >> "$AZ_BATCH_NODE_SHARED_DIR/release.log"')


def test_start_and_preparation_once_per_node_again_after_reboot_release_on_each(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=2)
    client.create_pool(m.BatchPoolCreateOptions(
        id="farm", vm_size="local", target_dedicated_nodes=2,
        start_task=m.BatchStartTask(command_line=bash('echo "$AZ_BATCH_NODE_ID" >> "$AZ_BATCH_NODE_SHARED_DIR/start.log"'),
                                    wait_for_success=True)))
    client.create_job(job(pool="farm", prep=PREP, release=RELEASE))
    record_env = bash('env | grep ^AZ_BATCH_ | sort > env.txt; pwd > cwd.txt; sleep 0.2')
    client.create_tasks("job1", [task(f"t{i}", record_env) for i in range(4)])
    status = client.wait("job1", timeout=30)
    assert status.count("completed") == 4 and not status.failed
    nodes = {n: client.node("farm", n) for n in ("node-0", "node-1")}
    assert {t.node for t in status.tasks} == set(nodes)
    for node_id, node in nodes.items():
        assert lines(node.shared / "start.log") == [node_id]
        assert lines(node.shared / "prep.log") == [f"{node_id} jobpreparation"]

    # The Batch variables and folders of a task, as a Linux pool node has them.
    t0 = client.get_task("job1", "t0")
    task_dir = Path(t0.node_info.task_root_directory)
    node = nodes[t0.node_info.node_id]
    env = dict(line.split("=", 1) for line in lines(task_dir / "wd" / "env.txt"))
    assert env["AZ_BATCH_TASK_WORKING_DIR"] == lines(task_dir / "wd" / "cwd.txt")[0] == str(task_dir / "wd")
    assert task_dir == node.root / "workitems" / "job1" / "job-1" / "t0"
    assert env["AZ_BATCH_TASK_DIR"] == str(task_dir)
    assert env["AZ_BATCH_JOB_PREP_WORKING_DIR"] == str(node.root / "workitems/job1/job-1/jobpreparation/wd")
    assert env["AZ_BATCH_NODE_MOUNTS_DIR"] == str(node.root / "fsmounts")
    assert env["AZ_BATCH_NODE_STARTUP_DIR"] == str(node.root / "startup")
    assert (env["AZ_BATCH_JOB_ID"], env["AZ_BATCH_TASK_ID"], env["AZ_BATCH_POOL_ID"]) == ("job1", "t0", "farm")
    assert env["AZ_BATCH_NODE_ID"] == t0.node_info.node_id and env["AZ_BATCH_NODE_ROOT_DIR"] == str(node.root)
    assert (task_dir / "stdout.txt").exists() and (task_dir / "stderr.txt").exists()

    # After a reboot the start task and, before the job's next task there, preparation run again.
    client.reboot_node("farm", "node-0")
    client.create_tasks("job1", [task("after", bash("true"))])
    client.wait("job1", timeout=30)
    assert client.get_task("job1", "after").node_info.node_id == "node-0"
    assert lines(nodes["node-0"].shared / "start.log") == ["node-0", "node-0"]
    assert lines(nodes["node-0"].shared / "prep.log") == ["node-0 jobpreparation"] * 2
    assert lines(nodes["node-1"].shared / "prep.log") == ["node-1 jobpreparation"]

    client.terminate_job("job1")
    assert client.wait("job1", timeout=30).state == "completed"
    for node in nodes.values():
        assert lines(node.shared / "release.log") == ["job1"]


def test_release_only_where_preparation_ran(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=3)
    client.create_job(job(prep=PREP, release=RELEASE, all_tasks_complete_mode="terminatejob"))
    client.create_tasks("job1", [task("a", bash("sleep 0.3")), task("b", bash("sleep 0.3"))])
    status = client.wait("job1", timeout=30)
    assert status.state == "completed"  # terminatejob: completes by itself once all tasks did
    assert client.get_job("job1").execution_info.termination_reason == "AllTasksComplete"
    used = {t.node for t in status.tasks}
    assert len(used) == 2
    for n in range(3):
        node = client.node("local", f"node-{n}")
        expected = ["job1"] if node.node_id in used else []
        assert lines(node.shared / "release.log") == expected, node.node_id


def test_retries_until_success_within_max_task_retry_count(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_job(job())
    flaky = bash('n=$(( $(cat tries 2>/dev/null || echo 0) + 1 )); echo $n > tries; echo "try $n" >&2; [ $n -ge 3 ]')
    client.create_tasks("job1", [
        task("flaky", flaky, constraints=m.BatchTaskConstraints(max_task_retry_count=2)),
        task("hopeless", flaky, constraints=m.BatchTaskConstraints(max_task_retry_count=1)),
    ])
    status = {t.id: t for t in client.wait("job1", timeout=30).tasks}
    assert (status["flaky"].exit_code, status["flaky"].retries, status["flaky"].failure) == (0, 2, "")
    assert (status["hopeless"].exit_code, status["hopeless"].retries) == (1, 1)
    assert status["hopeless"].stderr_tail == "try 2"
    assert status["hopeless"].failure.startswith("FailureExitCode")
    info = client.get_task("job1", "hopeless").execution_info
    assert (info.result, info.failure_info.code, info.retry_count) == ("failure", "FailureExitCode", 1)


def test_wall_clock_limit_kills_the_whole_process_group(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_job(job())
    client.create_tasks("job1", [task("stuck", bash("sleep 30 & echo $! > child.pid; sleep 30"),
                                      constraints=m.BatchTaskConstraints(max_wall_clock_time=timedelta(seconds=1),
                                                                         max_task_retry_count=3))])
    started = time.monotonic()
    status = client.wait("job1", timeout=90)
    assert time.monotonic() - started < 10
    stuck = status.tasks[0]
    assert stuck.failure.startswith("TaskEnded") and "wall clock" in stuck.failure
    assert stuck.exit_code == 128 + signal.SIGKILL and stuck.retries == 0  # a timeout is not retried
    wd = Path(client.get_task("job1", "stuck").node_info.task_root_directory) / "wd"
    assert not alive(pid_in(wd / "child.pid")), "the task's background child outlived the task"


def test_command_lines_run_without_a_shell(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_job(job())
    client.create_tasks("job1", [
        task("literal", "echo $AZ_BATCH_TASK_ID > out.txt"),
        task("builtin", "cd $AZ_BATCH_NODE_SHARED_DIR && touch x"),
        task("shell", bash('echo $AZ_BATCH_TASK_ID > out.txt')),
    ])
    status = {t.id: t for t in client.wait("job1", timeout=30).tasks}
    literal_dir = Path(client.get_task("job1", "literal").node_info.task_root_directory)
    assert lines(literal_dir / "stdout.txt") == ["$AZ_BATCH_TASK_ID > out.txt"]
    assert not (literal_dir / "wd" / "out.txt").exists()
    assert status["builtin"].failure.startswith("CommandProgramNotFound")
    assert [t.id for t in client.status("job1").failed] == ["builtin"]
    shell_dir = Path(client.get_task("job1", "shell").node_info.task_root_directory)
    assert lines(shell_dir / "wd" / "out.txt") == ["shell"]


FRAMES = bash('mkdir -p out/sub; echo a > out/f1.png; echo b > out/sub/f2.png; echo c > out/.hidden.png; '
              'echo d > out/notes.txt; echo rendered; exit ${FAIL:-0}')


def frame_outputs(url: str, task_id: str) -> list[m.OutputFile]:
    return [output("out/**/*.png", url, f"jobs/job1/outputs/{task_id}", "tasksuccess"),
            output("../std*.txt", url, f"jobs/job1/logs/{task_id}", "taskcompletion"),
            output("$AZ_BATCH_TASK_WORKING_DIR/out/notes.txt", url, f"jobs/job1/notes/{task_id}.txt", "taskfailure")]


def test_output_files_by_pattern_and_condition_to_a_folder_store(tmp_path):
    store = tmp_path / "store" / "outputs"
    store.mkdir(parents=True)
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_job(job())
    url = store.as_uri()
    client.create_tasks("job1", [
        task("good", FRAMES, output_files=frame_outputs(url, "good")),
        task("bad", FRAMES, output_files=frame_outputs(url, "bad"),
             environment_settings=[m.EnvironmentSetting(name="FAIL", value="3")]),
    ])
    client.wait("job1", timeout=30)
    uploaded = sorted(p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file())
    assert uploaded == [
        "jobs/job1/logs/bad/stderr.txt", "jobs/job1/logs/bad/stdout.txt",
        "jobs/job1/logs/good/stderr.txt", "jobs/job1/logs/good/stdout.txt",
        "jobs/job1/notes/bad.txt",
        "jobs/job1/outputs/good/f1.png", "jobs/job1/outputs/good/sub/f2.png",
    ]
    assert (store / "jobs/job1/logs/good/stdout.txt").read_text() == "rendered\n"
    assert (store / "jobs/job1/outputs/good/sub/f2.png").read_text() == "b\n"


def test_failed_upload_is_reported_and_files_stay_on_the_node(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_job(job())
    missing = (tmp_path / "no-such-container").as_uri()
    client.create_tasks("job1", [task("t", FRAMES, output_files=frame_outputs(missing, "t"))])
    t = client.wait("job1", timeout=30).tasks[0]
    assert t.exit_code == 0 and t.failure.startswith("FileUploadMiscError")
    model = client.get_task("job1", "t")
    assert model.execution_info.result == "failure"
    task_dir = Path(model.node_info.task_root_directory)
    assert (task_dir / "wd/out/f1.png").read_text() == "a\n"
    assert "no-such-container" in (task_dir / "fileuploaderr.txt").read_text()


def sas_url(azurite, container: str) -> str:
    from datetime import datetime, timezone

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    sas = generate_container_sas(azurite.account, container, account_key=azurite.key,
                                 permission=ContainerSasPermissions(read=True, write=True, list=True, create=True),
                                 expiry=datetime.now(timezone.utc) + timedelta(hours=1))
    return f"{azurite.container_url(container)}?{sas}"


@pytest.mark.azurite
def test_resource_and_output_files_with_azurite_and_no_sas_left_behind(azurite, container, tmp_path):
    service = azurite.blob_service().get_container_client(container)
    service.upload_blob("assets/shot/scene.txt", b"scene")
    service.upload_blob("assets/shot/tex/wood.txt", b"wood")
    service.upload_blob("elsewhere/skip.txt", b"no")
    service.upload_blob("tools/run.sh", b"#!/bin/sh\nls -R in > listing.txt\n")
    url = sas_url(azurite, container)
    signature = [p for p in url.split("?")[1].split("&") if p.startswith("sig=")][0]
    host, query = url.split("?")
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_job(job(all_tasks_complete_mode="terminatejob"))
    client.create_tasks("job1", [
        task("t", "./run.sh",
             resource_files=[m.ResourceFile(storage_container_url=url, blob_prefix="assets/shot/", file_path="in"),
                             m.ResourceFile(http_url=f"{host}/tools/run.sh?{query}", file_path="run.sh",
                                            file_mode="0755")],
             output_files=[output("listing.txt", url, "jobs/job1/listing.txt", "tasksuccess"),
                           output("in/**/*.txt", url, "jobs/job1/copied", "tasksuccess")]),
        # an upload refused by the store: its error (with the URL) must not carry the SAS either
        task("refused", bash("echo x > x.txt"), output_files=[output("x.txt", url.replace(container, "missing"))]),
    ])
    status = client.wait("job1", timeout=30)
    assert [t.id for t in status.failed] == ["refused"], status
    assert status.failed[0].failure.startswith("FileUploadMiscError") and "missing" in status.failed[0].failure
    assert service.download_blob("jobs/job1/copied/assets/shot/tex/wood.txt").readall() == b"wood"
    listing = service.download_blob("jobs/job1/listing.txt").readall().decode()
    assert "scene.txt" in listing and "wood.txt" in listing and "skip.txt" not in listing
    leaked = [p for p in (tmp_path / "batch").rglob("*") if p.is_file() and signature.encode() in p.read_bytes()]
    assert leaked == []
    assert "sig=***" in json.dumps(client.get_task("job1", "t").as_dict())


@pytest.mark.parametrize("kind", ["blobfuse", "fileshare"])
def test_mounts_expose_the_folder_standing_for_the_container(tmp_path, kind):
    assets = tmp_path / "store" / "assets"
    (assets / "shot").mkdir(parents=True)
    (assets / "shot" / "scene.txt").write_text("from the store\n")
    if kind == "blobfuse":
        source = "acct/assets"
        mount = m.MountConfiguration(azure_blob_file_system_configuration=m.AzureBlobFileSystemConfiguration(
            account_name="acct", container_name="assets", account_key="PRETEND-ACCOUNT-KEY==",
            relative_mount_path="azrender"))
    else:
        source = "https://acct.file.core.windows.net/assets"
        mount = m.MountConfiguration(azure_file_share_configuration=m.AzureFileShareConfiguration(
            account_name="acct", azure_file_url=source + "/", account_key="PRETEND-ACCOUNT-KEY==",
            relative_mount_path="azrender"))
    pool = m.BatchPoolCreateOptions(id="mounted", vm_size="local", mount_configuration=[mount])
    with pytest.raises(JobError, match="no local folder stands for"):
        LocalBatchClient(tmp_path / "batch").create_pool(pool)
    client = LocalBatchClient(tmp_path / "batch", node_count=1, store_roots={source: assets})
    client.create_pool(pool)
    client.create_job(job(pool="mounted"))
    client.create_tasks("job1", [task("t", bash('cat "$AZ_BATCH_NODE_MOUNTS_DIR/azrender/shot/scene.txt"'))])
    client.wait("job1", timeout=30)
    task_dir = Path(client.get_task("job1", "t").node_info.task_root_directory)
    assert lines(task_dir / "stdout.txt") == ["from the store"]
    assert "PRETEND-ACCOUNT-KEY" not in (tmp_path / "batch/pools/mounted/pool.json").read_text()


HOLD = bash('echo $$ > pid; while [ ! -e "$AZ_BATCH_NODE_SHARED_DIR/go" ]; do sleep 0.05; done')


def status_elsewhere(root: Path, job_id: str) -> dict:
    """`status` from another process, as `azrender status JOB` runs."""
    code = ("import json, sys; from azrender.backends.local import LocalBatchClient; "
            "s = LocalBatchClient(sys.argv[1]).status(sys.argv[2]); "
            "print(json.dumps({'state': s.state, 'tasks': {t.id: t.state for t in s.tasks}}))")
    proc = subprocess.run([sys.executable, "-c", code, str(root), job_id], capture_output=True, text=True,
                          env=cli_env(), timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_status_from_another_process_while_running(tmp_path):
    root = tmp_path / "batch"
    client = LocalBatchClient(root, node_count=1)
    client.create_job(job())
    client.create_tasks("job1", [task("hold", HOLD), task("next", bash("true"))])
    wait_for(lambda: client.status("job1").count("running") == 1, "the first task to run")
    assert status_elsewhere(root, "job1") == {"state": "active", "tasks": {"hold": "running", "next": "active"}}
    (client.node("local", "node-0").shared / "go").touch()
    client.wait("job1", timeout=30)
    assert status_elsewhere(root, "job1")["tasks"] == {"hold": "completed", "next": "completed"}


def test_terminate_kills_running_tasks_runs_release_and_keeps_the_record(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_job(job(prep=PREP, release=RELEASE))
    client.create_tasks("job1", [task("done", bash("true")), task("hold", HOLD), task("queued", bash("true"))])
    wait_for(lambda: client.status("job1").count("running") == 1, "the holding task to run")
    pid_file = Path(client.node("local", "node-0").task_dir("job1", "hold")) / "wd" / "pid"
    wait_for(lambda: pid_in(pid_file), "the holding task's pid")
    client.terminate_job("job1")
    status = client.wait("job1", timeout=30)
    tasks = {t.id: t for t in status.tasks}
    assert status.state == "completed"
    assert tasks["done"].exit_code == 0 and tasks["done"].state == "completed"
    assert tasks["hold"].state == "completed" and tasks["hold"].failure.startswith("TaskEnded")
    assert tasks["queued"].state == "active"  # Batch leaves tasks that never started active
    assert not alive(pid_in(pid_file))
    assert lines(client.node("local", "node-0").shared / "release.log") == ["job1"]
    assert client.get_job("job1").execution_info.termination_reason == "UserTerminate"
    with pytest.raises(JobError, match="completed"):
        client.create_tasks("job1", [task("late", bash("true"))])


def test_ctrl_c_while_waiting_cancels_the_job(tmp_path):
    root = tmp_path / "batch"
    code = ("import sys; from azure.batch import models as m; from azrender.backends.local import LocalBatchClient\n"
            "c = LocalBatchClient(sys.argv[1], node_count=1)\n"
            "c.create_job(m.BatchJobCreateOptions(id='job1', pool_info=m.BatchPoolInfo(pool_id='local'),"
            f" job_preparation_task=m.BatchJobPreparationTask(command_line={PREP!r}),"
            f" job_release_task=m.BatchJobReleaseTask(command_line={RELEASE!r})))\n"
            f"c.create_tasks('job1', [m.BatchTaskCreateOptions(id='hold', command_line={HOLD!r})])\n"
            "print('waiting', flush=True)\n"
            "c.wait('job1')\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(root)], env=cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "waiting\n"
    client = LocalBatchClient(root)
    wait_for(lambda: client.status("job1").count("running") == 1, "the task to run")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode != 0 and "KeyboardInterrupt" in stderr
    status = client.status("job1")
    assert status.state == "completed" and status.tasks[0].failure.startswith("TaskEnded")
    assert lines(client.node("local", "node-0").shared / "release.log") == ["job1"]


def test_a_killed_runner_is_replaced_and_its_task_requeued(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_job(job())
    client.create_tasks("job1", [task("hold", HOLD)])
    wait_for(lambda: client.status("job1").count("running") == 1, "the task to run")
    runner = next(int(p) for p in os.listdir("/proc") if p.isdigit() and
                  b"azrender.backends.local" in Path(f"/proc/{p}/cmdline").read_bytes() and
                  str(tmp_path).encode() in Path(f"/proc/{p}/cmdline").read_bytes())
    os.kill(runner, signal.SIGKILL)
    (client.node("local", "node-0").shared / "go").touch()
    status = client.wait("job1", timeout=30)
    assert status.tasks[0].exit_code == 0
    assert client.get_task("job1", "hold").execution_info.requeue_count == 1


def test_refusals_are_clear(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    with pytest.raises(JobError, match="PoolNotFound"):
        client.create_job(job(pool="nope"))
    escaping = m.MountConfiguration(azure_blob_file_system_configuration=m.AzureBlobFileSystemConfiguration(
        account_name="acct", container_name="c", relative_mount_path="../../escape"))
    with pytest.raises(JobError, match="relativeMountPath '../../escape' must be a path inside"):
        client.create_pool(m.BatchPoolCreateOptions(id="bad", vm_size="local", mount_configuration=[escaping]))
    client.create_job(job(prep=PREP))
    with pytest.raises(JobError, match="JobExists"):
        client.create_job(job())
    with pytest.raises(m.CreateTasksError) as refused:
        client.create_tasks("job1", [task("ok", bash("true")), task("OK", bash("true")),
                                     task("jobpreparation", bash("true")), task("../x", bash("true"))])
    codes = [(r.task_id, r.error.code) for r in refused.value.failure_tasks]
    assert codes == [("OK", "TaskExists"), ("jobpreparation", "TaskIdSameAsJobPreparationTask"),
                     ("../x", "InvalidPropertyValue")]
    assert [t.id for t in client.list_tasks("job1")] == ["ok"]
    with pytest.raises(JobError, match="JobNotFound"):
        client.status("other")
    task_file = tmp_path / "batch/jobs/job1/tasks/ok.json"
    good = json.loads(task_file.read_text())
    for broken in ({**good, "creation_time": 5}, {**good, "failure": "oops"}, {**good, "retry_count": "1"},
                   {**good, "extra": 1}, {**good, "version": 99}, [good], "text"):
        task_file.write_text(json.dumps(broken))
        with pytest.raises(JobError, match="ok.json: (malformed task record|not a local-backend task record)"):
            client.status("job1")
    (tmp_path / "batch/jobs/job1/job.json").write_text("{not json")
    with pytest.raises(JobError, match="job.json: unreadable state file"):
        client.status("job1")


def test_the_start_task_of_a_pool_azrender_creates_gives_its_nodes_xxhash(tmp_path):
    """The local backend runs the start task a Batch pool azrender creates gets (its body valid
    against the REST spec): the node tool, run after it under a Python without xxhash, hashes."""
    import xxhash
    from batchspec import BODIES, errors

    from azrender.jobs.batch_models import pool_model
    from azrender.jobs.model import ImageRef, NodeAccess, PoolSpec
    from azrender.jobs.nodetool import build_node_tool, upload_node_tool
    from azrender.jobs.provision import upload_node_python, with_node_python
    from azrender.sync.content import content_key
    from azrender.sync.stores import open_store

    url = (tmp_path / "store").as_uri()
    store, access = open_store(url), NodeAccess(url, url)
    upload_node_tool(store)
    upload_node_python(store)
    spec = with_node_python(PoolSpec(id="farm", vm_size="local", image=ImageRef("local", "local", "local"),
                                     node_agent_sku="local", dedicated_nodes=1), access)
    body = pool_model(spec, access)
    assert errors(body.as_dict(), BODIES["pool"]) == []
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_pool(body)
    client.create_job(job(pool="farm"))
    client.create_tasks("job1", [task("t0", bash("true"))])
    status = client.wait("job1", timeout=120)
    assert status.count("completed") == 1 and not status.failed
    node = client.node("farm", "node-0")
    assert "xxhash 3.5.0 installed" in (node.startup / "stdout.txt").read_text()

    data = b"texture bytes"
    digest = xxhash.xxh3_128_hexdigest(data)
    (tmp_path / "store" / content_key(digest)).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "store" / content_key(digest)).write_bytes(data)
    (tmp_path / "m.json").write_text(json.dumps({"version": 2, "entries": [
        {"key": "assets/proj/t.png", "size": len(data), "mtime_ns": 1, "hash": digest}]}))
    (tmp_path / "tool.pyz").write_bytes(build_node_tool())
    prep = subprocess.run([sys.executable, "-I", "-S", str(tmp_path / "tool.pyz"), "prep", "--store", url,
                           "--manifest", str(tmp_path / "m.json"), "--job", "j", "--root", str(tmp_path / "cache"),
                           "--view", str(tmp_path / "prep" / "view"), "--reserve", "0", "--json"],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "AZ_BATCH_NODE_SHARED_DIR": str(node.shared)})
    assert prep.returncode == 0, prep.stderr
    assert json.loads(prep.stdout.strip().splitlines()[-1])["hashed"] == 1 and "no xxhash" not in prep.stderr


def test_a_node_whose_start_task_fails_takes_no_task(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=2)
    client.create_pool(m.BatchPoolCreateOptions(
        id="broken", vm_size="local", start_task=m.BatchStartTask(
            command_line=bash('echo "no licence server" >&2; exit 7'), wait_for_success=True, max_task_retry_count=1)))
    client.create_job(job(pool="broken"))
    client.create_tasks("job1", [task("t", bash("true"))])
    t = client.wait("job1", timeout=30).tasks[0]
    assert t.failure.startswith("StartTaskFailed") and "exit code 7" in t.failure
    startup = client.node("broken", "node-0").startup
    assert lines(startup / "stderr.txt") == ["no licence server"]


def test_a_runner_that_cannot_run_the_job_is_reported_not_retried_forever(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_job(job())
    private = tmp_path / "batch/jobs/job1/private"
    assert oct(private.stat().st_mode & 0o777) == "0o700"
    assert oct((private / "job.json").stat().st_mode & 0o777) == "0o600"
    (tmp_path / "batch/pools/local/private/pool.json").write_text("[]")
    client.create_tasks("job1", [task("t", bash("true"))])
    with pytest.raises(JobError, match="local runner of job 'job1' failed"):
        client.wait("job1", timeout=20)


def test_a_reboot_mid_task_requeues_it_and_preparation_runs_again(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_job(job(prep=PREP, release=RELEASE, all_tasks_complete_mode="terminatejob"))
    client.create_tasks("job1", [task("hold", HOLD, constraints=m.BatchTaskConstraints(max_task_retry_count=0))])
    pid_file = client.node("local", "node-0").task_dir("job1", "hold") / "wd" / "pid"
    wait_for(lambda: pid_in(pid_file), "the task to run")
    first = pid_in(pid_file)
    client.reboot_node("local", "node-0")
    wait_for(lambda: client.get_task("job1", "hold").execution_info.requeue_count == 1, "the requeue")
    assert not alive(first)
    wait_for(lambda: pid_in(pid_file) not in (None, first), "the task to run again")
    (client.node("local", "node-0").shared / "go").touch()
    status = client.wait("job1", timeout=30)
    assert status.state == "completed" and status.tasks[0].exit_code == 0 and status.tasks[0].retries == 0
    assert lines(client.node("local", "node-0").shared / "prep.log") == ["node-0 jobpreparation"] * 2


def test_the_batch_backends_own_submission_and_status_code_runs_unchanged_here(tmp_path):
    from azrender.backends.batch import batch_status, submit_batch
    from azrender.jobs.batch_models import BatchRequests

    client = LocalBatchClient(tmp_path / "batch", node_count=2)
    tasks = [task(f"frame-{n}", bash(f"echo frame {n}; exit {n % 2}")) for n in range(1, 5)]
    submit_batch(client, BatchRequests(pool=None, job=job(prep=PREP, release=RELEASE), tasks=tasks))
    assert client.wait("job1", timeout=30).state == "completed"  # submit_batch set terminatejob
    status = batch_status(client, "job1")
    assert {t.id: t.exit_code for t in status.tasks} == {"frame-1": 1, "frame-2": 0, "frame-3": 1, "frame-4": 0}
    assert lines(client.node("local", "node-0").shared / "release.log") == ["job1"]

    # A refused task: the job is removed again, nothing half-created.
    with pytest.raises(JobError, match="could not be added"):
        submit_batch(client, BatchRequests(pool=None, job=job("job2"), tasks=[
            task("ok", bash("true")), task("bad", bash("true"), depends_on=m.BatchTaskDependencies(task_ids=["ok"]))]))
    assert [j.id for j in client.list_jobs()] == ["job1"]
    with pytest.raises(JobError, match="PoolNotFound|does not exist"):
        submit_batch(client, BatchRequests(pool=None, job=job("job3", pool="missing"), tasks=tasks))


def test_task_slots_per_node_run_tasks_side_by_side(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_pool(m.BatchPoolCreateOptions(id="wide", vm_size="local", task_slots_per_node=2))
    client.create_job(job(pool="wide"))
    client.create_tasks("job1", [task(f"t{i}", HOLD) for i in range(3)])
    wait_for(lambda: client.status("job1").count("running") == 2, "two tasks to run at once")
    assert client.status("job1").count("active") == 1
    (client.node("wide", "node-0").shared / "go").touch()
    assert client.wait("job1", timeout=30).count("completed") == 3

    # A task that needs the whole node runs alone; one that needs more than a node has is refused.
    client.create_tasks("job1", [task("whole", bash("sleep 0.3; date +%s.%N > $AZ_BATCH_NODE_SHARED_DIR/whole"),
                                      required_slots=2),
                                 task("after", bash("date +%s.%N > $AZ_BATCH_NODE_SHARED_DIR/after"))])
    client.wait("job1", timeout=30)
    shared = client.node("wide", "node-0").shared
    assert float(lines(shared / "after")[0]) > float(lines(shared / "whole")[0])
    with pytest.raises(m.CreateTasksError):
        client.create_tasks("job1", [task("huge", bash("true"), required_slots=3)])


def test_job_limits_and_exit_conditions_end_the_job(tmp_path):
    # Generous waits: a loaded CI machine can take seconds to start the runner; the states are the test.
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_job(job("slow", constraints=m.BatchJobConstraints(max_wall_clock_time=timedelta(seconds=1))))
    client.create_tasks("slow", [task("hold", HOLD)])
    status = client.wait("slow", timeout=90)
    assert status.state == "completed" and status.tasks[0].failure.startswith("TaskEnded")
    assert client.get_job("slow").execution_info.termination_reason == "MaxWallClockTimeExpiry"

    client.create_job(job("strict", task_failure_mode="performexitoptionsjobaction"))
    tolerated = m.ExitConditions(exit_codes=[m.ExitCodeMapping(code=3, exit_options=m.ExitOptions(job_action="none"))])
    client.create_tasks("strict", [task("tolerated", bash("exit 3"), exit_conditions=tolerated)])
    assert client.wait("strict", timeout=90).state == "active"
    client.create_tasks("strict", [task("fatal", bash("exit 4"))])
    assert client.wait("strict", timeout=90).state == "completed"
    assert client.get_job("strict").execution_info.termination_reason == "TaskFailed"


def test_delete_job_ends_it_and_removes_its_files_everywhere(tmp_path):
    client = LocalBatchClient(tmp_path / "batch", node_count=1)
    client.create_job(job(prep=PREP, release=RELEASE))
    client.create_tasks("job1", [task("hold", HOLD)])
    wait_for(lambda: client.status("job1").count("running") == 1, "the task to run")
    node = client.node("local", "node-0")
    client.begin_delete_job("job1").result()
    assert lines(node.shared / "release.log") == ["job1"]  # deleting an active job terminates it first
    assert not (node.root / "workitems" / "job1").exists() and not (tmp_path / "batch/jobs/job1").exists()
    with pytest.raises(ResourceNotFoundError):
        client.get_job("job1")
