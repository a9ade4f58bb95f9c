"""The real azure-batch 15 client driven against a recording endpoint that answers like the Batch
service: the exact calls, collections within both limits, all-or-nothing, and no secret outside the
fields Batch defines for it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from azure.batch import models as m
from azure.core.credentials import AzureNamedKeyCredential

from azrender.backends import batch as backend
from azrender.errors import JobError
from azrender.jobs.batch_models import to_batch_models
from azrender.jobs.build import build_job
from azrender.jobs.model import ImageRef, MountSpec, NodeAccess, PoolSpec
import batchspec
from batch_recorder import BatchRecorder

SIG = "SeCrEtSiGnAtUrE0123456789abcdefXYZ%3D"
WSIG = "WrItEsIgNaTuRe0123456789abcdefXYZ%3D"
ACCOUNT_KEY = "QWNjb3VudEtleVRoYXRNdXN0TmV2ZXJMZWFrMDEyMzQ1Njc4OQ=="
BATCH_KEY = "QmF0Y2hLZXlUaGF0TXVzdE5ldmVyTGVhazAxMjM0NTY3ODk="
ACCESS = NodeAccess(f"https://acct.blob.core.windows.net/assets/show1?sv=2025-01-05&sp=rl&sig={SIG}",
                    f"https://acct.blob.core.windows.net/renders?sv=2025-01-05&sp=cw&sig={WSIG}")
IDENTITY = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/render"
SCENE = "$AZ_BATCH_NODE_SHARED_DIR/azrender/assets/proj/shot 010/scène's.blend"

# Where Batch defines a place for a credential; anywhere else a secret is a leak.
ALLOWED = {"httpUrl", "storageContainerUrl", "containerUrl", "sasKey", "accountKey"}
# ...and the one environment setting meant for one: the nodes' read SAS, for the preparation task alone.
NODE_SAS = ("jobPreparationTask", "environmentSettings", "AZRENDER_STORE_SAS")


@pytest.fixture
def recorder():
    server = BatchRecorder(pools={"pool1": {"id": "pool1"}}).start()
    yield server
    server.stop()


@pytest.fixture
def client(recorder):
    return backend.make_client(recorder.url, AzureNamedKeyCredential("acct", BATCH_KEY))


def job(frames="1-10", chunk=1, access=ACCESS, **kw):
    kw.setdefault("pool_id", "pool1")
    return build_job(job_id=kw.pop("job_id", "job1"), host="blender", scene=SCENE, frames=frames, chunk=chunk,
                     manifest_key="manifests/m1.json", access=access, tool_key="tools/azrender_node-1.pyz", **kw)


def secret_leaks(obj, secrets, path=()):
    """Paths of strings holding a secret outside the allowed fields."""
    if isinstance(obj, dict):
        if path[-2:] + (obj.get("name"),) == NODE_SAS:
            return []
        return [p for k, v in obj.items() for p in secret_leaks(v, secrets, path + (k,))]
    if isinstance(obj, list):
        return [p for v in obj for p in secret_leaks(v, secrets, path)]
    if isinstance(obj, str) and any(s in obj for s in secrets) and path[-1] not in ALLOWED:
        return ["/".join(path)]
    return []


def bodies(recorder, suffix):
    return [r for r in recorder.requests if r.path.endswith(suffix) and r.method == "POST"]


def test_submit_creates_job_then_collections_of_at_most_100_then_terminates_on_completion(client, recorder):
    job_id = backend.submit_batch(client, to_batch_models(job("1-250")), max_concurrency=3)
    assert job_id == "job1"
    calls = recorder.calls()
    assert calls[:2] == [("GET", "/pools/pool1"), ("POST", "/jobs")]
    assert calls[-1] == ("PATCH", "/jobs/job1")
    assert recorder.requests[-1].json == {"onAllTasksComplete": "terminatejob"}
    collections = bodies(recorder, "/addtaskcollection")
    assert sorted(len(r.json["value"]) for r in collections) == [50, 100, 100]
    sent = [t["id"] for r in collections for t in r.json["value"]]
    assert sorted(sent) == sorted(f"frames-{n:04d}" for n in range(1, 251))


def test_collections_are_split_by_json_size(client, recorder):
    # A studio pre-command makes each task ~40 kB: 100 tasks would be 4 MB.
    big = job("1-120", pre_commands=(("echo", "x" * 40_000),))
    backend.submit_batch(client, to_batch_models(big))
    collections = bodies(recorder, "/addtaskcollection")
    assert all(len(r.body) < 1_000_000 for r in collections)
    assert len(collections) >= 5
    assert sorted(t["id"] for r in collections for t in r.json["value"]) == sorted(t.id for t in big.tasks)


def test_a_collection_the_service_finds_too_large_is_halved(client, recorder, monkeypatch):
    monkeypatch.setattr(backend, "MAX_COLLECTION_BYTES", 50_000_000)  # our estimate is wrong on purpose
    big = job("1-60", pre_commands=(("echo", "x" * 40_000),))
    backend.submit_batch(client, to_batch_models(big))
    sizes = [len(r.body) for r in recorder.requests if r.path.endswith("/addtaskcollection")]
    assert max(sizes) > 1024 * 1024  # the service refused it (413 RequestBodyTooLarge)
    assert len(sizes) >= 4
    assert sorted(recorder.tasks["job1"]) == sorted(t.id for t in big.tasks)


def test_every_body_rebuilds_into_the_sdk_models(client, recorder):
    pool = PoolSpec(id="newpool", vm_size="Standard_D4s_v5", node_agent_sku="batch.node.ubuntu 22.04",
                    image=ImageRef("canonical", "0001-com-ubuntu-server-jammy", "22_04-lts"), dedicated_nodes=2,
                    task_slots=2, app_packages=(("blender", "4.2"),),
                    mount=MountSpec("blobfuse", "acct", "assets", sas_token=f"sv=1&sp=rl&sig={SIG}"))
    backend.submit_batch(client, to_batch_models(job("1-5", storage_mode="blobfuse", pool=pool)))
    for request in recorder.requests:
        if request.method != "POST":
            continue
        for body, definition in ((request.json, {"/pools": "pool", "/jobs": "job"}.get(request.path)),) + tuple(
                (task, "task") for task in request.json.get("value", ())):
            if definition:
                assert not batchspec.errors(body, batchspec.BODIES[definition]), (request.path, body)
        if request.path == "/pools":
            assert m.BatchPoolCreateOptions(request.json).as_dict() == request.json
        elif request.path == "/jobs":
            assert m.BatchJobCreateOptions(request.json).as_dict() == request.json
        else:
            for task in request.json["value"]:
                assert m.BatchTaskCreateOptions(task).as_dict() == task


@pytest.mark.parametrize("mount", [
    MountSpec("blobfuse", "acct", "assets", sas_token=f"sv=1&sp=rl&sig={SIG}"),
    MountSpec("fileshare", "acct", "share", account_key=ACCOUNT_KEY),
    MountSpec("windows-net-use", "acct", "share", drive="S:"),
], ids=lambda mt: mt.kind)
def test_pool_with_each_mount_type(client, recorder, mount):
    windows = mount.kind == "windows-net-use"
    pool = PoolSpec(id="newpool", vm_size="Standard_D4s_v5",
                    node_agent_sku="batch.node.windows amd64" if windows else "batch.node.ubuntu 22.04",
                    image=ImageRef(gallery_image_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
                                                    "galleries/g/images/render/versions/1.0.0"),
                    node_os="windows" if windows else "linux", mount=mount)
    mode = {"blobfuse": "blobfuse", "fileshare": "fileshare", "windows-net-use": "fileshare"}[mount.kind]
    spec = job("1-3", storage_mode=mode, pool=pool)
    backend.submit_batch(client, to_batch_models(spec))
    body = bodies(recorder, "/pools")[0].json
    assert body["virtualMachineConfiguration"]["imageReference"]["virtualMachineImageId"].endswith("/versions/1.0.0")
    mounts = body.get("mountConfiguration", [])
    if mount.kind == "blobfuse":
        config = mounts[0]["azureBlobFileSystemConfiguration"]
        assert config["containerName"] == "assets" and config["relativeMountPath"] == "azrender"
        assert "attr_timeout" in config["blobfuseOptions"]
    elif mount.kind == "fileshare":
        config = mounts[0]["azureFileShareConfiguration"]
        assert config["azureFileUrl"] == "https://acct.file.core.windows.net/share"
        assert config["accountKey"] == ACCOUNT_KEY
    else:
        assert mounts == []
        task = bodies(recorder, "/addtaskcollection")[0].json["value"][0]
        assert task["commandLine"].startswith('cmd /c "(if not exist S:\\ net use S: \\\\acct.file.core.windows.net\\share')
    # Mounted pools download nothing: the preparation task links the job's view into the mount.
    prep = bodies(recorder, "/jobs")[0].json["jobPreparationTask"]
    assert "--mounted" in prep["commandLine"] and "--content-dir" in prep["commandLine"]
    for request in recorder.requests:
        if request.body:
            assert not secret_leaks(request.json, [SIG, WSIG, ACCOUNT_KEY, BATCH_KEY])
        assert BATCH_KEY not in json.dumps(request.headers)


def test_no_secret_outside_the_fields_batch_defines(client, recorder):
    backend.submit_batch(client, to_batch_models(job("1-20", chunk=5)))
    everything = [r.json for r in recorder.requests if r.body]
    assert not secret_leaks(everything, [SIG, WSIG, BATCH_KEY])
    prep = bodies(recorder, "/jobs")[0].json["jobPreparationTask"]
    assert SIG not in prep["commandLine"] and "--access" not in prep["commandLine"]
    assert {f["filePath"] for f in prep["resourceFiles"]} == {"azrender_node.pyz", "manifest.json"}
    # The read SAS reaches the node only as the preparation task's own setting (no task, no store).
    assert prep["environmentSettings"] == [{"name": "AZRENDER_STORE_SAS", "value": ACCESS.assets_url.split("?")[1]}]
    assert "commonEnvironmentSettings" not in bodies(recorder, "/jobs")[0].json  # not every task's
    release = bodies(recorder, "/jobs")[0].json["jobReleaseTask"]
    assert SIG not in json.dumps(release) and WSIG not in json.dumps(bodies(recorder, "/jobs")[0].json)
    # Output files: write SAS only, frames on success and logs on every completion, under the job's prefix.
    task = bodies(recorder, "/addtaskcollection")[0].json["value"][0]
    outputs = {o["uploadOptions"]["uploadCondition"]: o for o in task["outputFiles"]}
    assert WSIG in outputs["tasksuccess"]["destination"]["container"]["containerUrl"]
    assert outputs["tasksuccess"]["destination"]["container"]["path"] == "jobs/job1/outputs"  # frames side by side
    assert outputs["taskcompletion"]["destination"]["container"]["path"] == f"jobs/job1/logs/{task['id']}"
    assert SIG not in json.dumps(task["outputFiles"])  # the read SAS never goes where writes happen


def test_the_node_sas_setting_is_refused_anywhere_but_the_preparation_task():
    """The one setting allowed to carry a secret is the preparation task's read SAS, and only
    with exactly that value: a hook copying it onto a task, or changing it, is refused."""
    from dataclasses import replace

    setting = ("AZRENDER_STORE_SAS", ACCESS.assets_url.split("?")[1])
    spec = job("1-2")
    assert spec.preparation.environment == (setting,)
    for leaky in (replace(spec, tasks=[replace(spec.tasks[0], environment=(setting,)), *spec.tasks[1:]]),
                  replace(spec, release=replace(spec.release, environment=(setting,))),
                  replace(spec, environment=(setting,)),
                  replace(spec, preparation=replace(spec.preparation, environment=(
                      ("AZRENDER_STORE_SAS", f"sv=1&sp=rwdl&sig={WSIG}"),)))):
        with pytest.raises(JobError, match="refusing to send a secret") as info:
            to_batch_models(leaky)
        assert SIG not in str(info.value) and WSIG not in str(info.value)


def test_a_sas_starting_with_its_signature_is_masked_and_refused_like_any_other():
    """A SAS given as ``?sig=...&sv=...`` (its signature first) and passed on as the nodes' setting:
    masked in what --dry-run prints, and refused in any other setting."""
    from dataclasses import replace

    first = NodeAccess(f"https://acct.blob.core.windows.net/assets/show1?sig={SIG}&sv=2025-01-05&sp=rl", ACCESS.outputs_url)
    spec = job("1-2", access=first)
    assert spec.preparation.environment == (("AZRENDER_STORE_SAS", f"sig={SIG}&sv=2025-01-05&sp=rl"),)
    assert SIG not in json.dumps(to_batch_models(spec).as_json())
    leaky = replace(spec, tasks=[replace(spec.tasks[0], environment=(("TOKEN", f"sig={WSIG}&sv=1"),)), *spec.tasks[1:]])
    with pytest.raises(JobError, match="refusing to send a secret"):
        to_batch_models(leaky)


def test_managed_identity_needs_no_sas_at_all(client, recorder):
    access = NodeAccess("https://acct.blob.core.windows.net/assets/show1", "https://acct.blob.core.windows.net/renders",
                        identity_resource_id=IDENTITY)
    backend.submit_batch(client, to_batch_models(job("1-2", access=access)))
    prep = bodies(recorder, "/jobs")[0].json["jobPreparationTask"]
    assert all(f["identityReference"]["resourceId"] == IDENTITY for f in prep["resourceFiles"])
    assert "environmentSettings" not in prep and f"--identity {IDENTITY}" in prep["commandLine"]
    task = bodies(recorder, "/addtaskcollection")[0].json["value"][0]
    assert all(o["destination"]["container"]["identityReference"]["resourceId"] == IDENTITY for o in task["outputFiles"])
    assert "sig=" not in json.dumps([r.json for r in recorder.requests if r.body])


def test_missing_pool_creates_nothing(client, recorder):
    with pytest.raises(JobError, match="pool nopool does not exist"):
        backend.submit_batch(client, to_batch_models(job(pool_id="nopool")))
    assert recorder.calls() == [("GET", "/pools/nopool")]


def test_tasks_that_fail_to_add_remove_the_job_and_the_pool_created_for_it(client, recorder):
    recorder.fail_tasks["frames-0007"] = "InvalidPropertyValue"
    pool = PoolSpec(id="newpool", vm_size="Standard_D2s_v5", node_agent_sku="batch.node.ubuntu 22.04",
                    image=ImageRef("canonical", "ubuntu", "22_04-lts"))
    with pytest.raises(JobError, match=r"1 task\(s\) could not be added.*frames-0007.*InvalidPropertyValue.*removed"):
        backend.submit_batch(client, to_batch_models(job("1-150", pool=pool)))
    assert ("DELETE", "/jobs/job1") in recorder.calls() and ("DELETE", "/pools/newpool") in recorder.calls()
    assert "job1" not in recorder.jobs and "newpool" not in recorder.pools
    assert ("PATCH", "/jobs/job1") not in recorder.calls()


def test_task_ids_that_collide_ignoring_case_are_refused_before_any_request(client, recorder):
    import dataclasses

    spec = job("1-2")
    spec.tasks[1] = dataclasses.replace(spec.tasks[1], id=spec.tasks[0].id.upper())
    with pytest.raises(JobError, match="same to Batch"):
        backend.submit_batch(client, to_batch_models(spec))
    spec.tasks[1] = dataclasses.replace(spec.tasks[1], id="x" * 65)
    with pytest.raises(Exception, match="at most 64"):
        backend.submit_batch(client, to_batch_models(spec))
    assert recorder.requests == []


def test_dry_run_json_is_redacted(client):
    doc = to_batch_models(job("1-3", pool=PoolSpec(
        id="newpool", vm_size="v", node_agent_sku="s", image=ImageRef("p", "o", "k"),
        mount=MountSpec("fileshare", "acct", "share", account_key=ACCOUNT_KEY)), storage_mode="fileshare")).as_json()
    text = json.dumps(doc)
    assert SIG not in text and WSIG not in text and ACCOUNT_KEY not in text
    assert "sig=***" in text and set(doc) == {"pool", "job", "tasks"} and len(doc["tasks"]) == 3


def test_status_reports_failed_tasks_with_their_stderr(client, recorder):
    backend.submit_batch(client, to_batch_models(job("1-4")))
    tasks = recorder.tasks["job1"]
    tasks["frames-0001"].update(state="completed", executionInfo={"exitCode": 0, "retryCount": 0, "requeueCount": 0})
    tasks["frames-0002"].update(state="completed", executionInfo={"exitCode": 1, "retryCount": 2, "requeueCount": 0})
    tasks["frames-0003"].update(state="running", nodeInfo={"nodeId": "tvm-1"})
    recorder.files[("job1", "frames-0002", "stderr.txt")] = ("\n".join(f"line {i}" for i in range(50)) +
                                                             f"\nError: cannot read https://x/y?sig={SIG}").encode()
    status = backend.batch_status(client, "job1")
    assert (status.count("completed"), status.count("running"), status.count("active")) == (2, 1, 1)
    [failed] = status.failed
    assert failed.id == "frames-0002" and failed.retries == 2
    assert failed.stderr_tail.splitlines()[-1].startswith("Error: cannot read") and SIG not in failed.stderr_tail
    assert len(failed.stderr_tail.splitlines()) == backend.STDERR_LINES
    with pytest.raises(JobError, match="no job nosuchjob"):
        backend.batch_status(client, "nosuchjob")


def test_task_models_equal_what_the_sdk_constructors_build():
    spec = job("1-2")
    [first, _] = to_batch_models(spec).tasks
    container = f"https://acct.blob.core.windows.net/renders?sv=2025-01-05&sp=cw&sig={WSIG}"
    expected = m.BatchTaskCreateOptions(
        id="frames-0001", display_name="frame 1", command_line=spec.tasks[0].command_line,
        constraints=m.BatchTaskConstraints(max_task_retry_count=2, max_wall_clock_time=timedelta(hours=24),
                                           retention_time=timedelta(hours=2)),
        output_files=[m.OutputFile(file_pattern=pattern, destination=m.OutputFileDestination(
            container=m.OutputFileBlobContainerDestination(container_url=container, path=path)),
            upload_options=m.OutputFileUploadConfiguration(upload_condition=condition))
            for pattern, path, condition in (("out/**/*", "jobs/job1/outputs", "tasksuccess"),
                                             ("../std*.txt", "jobs/job1/logs/frames-0001", "taskcompletion"))])
    assert first.as_dict() == expected.as_dict()
    assert first.output_files[1].destination.container.path == "jobs/job1/logs/frames-0001"
    assert first.constraints.max_task_retry_count == 2


def test_expired_credentials_and_an_unreachable_service_are_one_clear_line(client, recorder):
    from azure.batch import BatchClient

    from conftest import free_port

    recorder.deny = True
    with pytest.raises(JobError) as info:
        backend.submit_batch(client, to_batch_models(job("1-3")))
    assert str(info.value).startswith("could not submit job job1: AuthenticationFailed: Server failed to authenticate")
    assert "may have expired" in str(info.value)
    assert all(r.method == "GET" for r in recorder.requests)  # nothing was created

    offline = BatchClient(f"http://127.0.0.1:{free_port()}", AzureNamedKeyCredential("acct", BATCH_KEY), retry_total=0)
    with pytest.raises(JobError, match="could not read job job1: ServiceRequestError") as info:
        backend.batch_status(offline, "job1")
    assert "batch_url" in str(info.value) and BATCH_KEY not in str(info.value)


def test_interrupted_submission_removes_the_job(client, recorder):
    def interrupt(added, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backend.submit_batch(client, to_batch_models(job("1-300")), max_concurrency=1, progress=interrupt)
    assert ("DELETE", "/jobs/job1") in recorder.calls() and "job1" not in recorder.jobs


def test_a_task_too_large_for_any_request_is_refused_before_anything_is_created(client, recorder):
    with pytest.raises(JobError, match=r"task frames-0001 alone is [\d,]+ bytes of JSON, over Batch's 1 MB"):
        backend.submit_batch(client, to_batch_models(job("1-2", pre_commands=(("echo", "x" * 1_100_000),))))
    assert recorder.requests == []


def test_tasks_the_service_was_too_busy_for_are_sent_again(client, recorder):
    recorder.busy.update({"frames-0003": 2, "frames-0150": 1})
    backend.submit_batch(client, to_batch_models(job("1-200")))
    assert len(recorder.tasks["job1"]) == 200
    sent = [t["id"] for r in bodies(recorder, "/addtaskcollection") for t in r.json["value"]]
    assert sent.count("frames-0003") == 3 and sent.count("frames-0150") == 2 and sent.count("frames-0004") == 1
    recorder.busy["frames-0001"] = 99
    with pytest.raises(JobError, match="frames-0001: the Batch service kept failing"):
        backend.submit_batch(client, to_batch_models(job("1-2", job_id="job2")))


def test_a_failed_preparation_task_ends_the_wait_with_its_reason_and_stderr(client, recorder):
    """Batch keeps a job's tasks active forever when its preparation task failed on the nodes:
    status reads the preparation status and the node's stderr, and waiting ends with them."""
    import threading

    backend.submit_batch(client, to_batch_models(job("1-3")))
    folder = "workitems/job1/job-1/jobpreparation"
    recorder.preparation["job1"] = [{
        "poolId": "pool1", "nodeId": "tvm-1", "nodeUrl": f"{recorder.url}/pools/pool1/nodes/tvm-1",
        "jobPreparationTaskExecutionInfo": {
            "state": "completed", "startTime": "2026-01-01T00:00:00Z", "endTime": "2026-01-01T00:00:05Z",
            "exitCode": 3, "retryCount": 0, "result": "failure", "taskRootDirectory": folder,
            "taskRootDirectoryUrl": f"{recorder.url}/pools/pool1/nodes/tvm-1/files/{folder}",
            "failureInfo": {"category": "usererror", "code": "FailureExitCode",
                            "message": "The task exited with an exit code representing a failure"}}}]
    recorder.node_files[("pool1", "tvm-1", f"{folder}/stderr.txt")] = \
        b"checking 12 files\nmissing on the node: assets/show/tex/wood.png\n"
    batch = backend.BatchBackend(settings=None)
    batch._client, batch.POLL_SECONDS = client, 0.05  # the recorder's client; poll fast
    ended = []
    waiter = threading.Thread(target=lambda: ended.append(batch.wait("job1", lambda *progress: None)), daemon=True)
    waiter.start()
    waiter.join(timeout=20)
    assert ended, "waiting on a job whose preparation failed never ended"
    [status] = ended
    assert status.stuck and status.count("active") == 3 and not status.failed
    [prep] = status.preparation_failed
    assert (prep.node, prep.exit_code) == ("tvm-1", 3)
    assert prep.failure.startswith("FailureExitCode: The task exited")
    assert prep.stderr_tail.splitlines()[-1] == "missing on the node: assets/show/tex/wood.png"
    assert ("GET", "/jobs/job1/jobpreparationandreleasetaskstatus") in recorder.calls()
