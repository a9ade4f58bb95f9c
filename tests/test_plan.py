"""One submission plan, executed by a backend: planning sends nothing, the dry run prints exactly
what execute then sends, one place chooses the backend, and the profile's settings hold unless
the command line says otherwise."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from batch_recorder import BatchRecorder
from conftest import SHARED_SCENES

BATCH_KEY = "QmF0Y2hLZXlUaGF0TXVzdE5ldmVyTGVhazAxMjM0NTY3ODk="


@pytest.fixture
def maya_cube(tmp_path):
    scene = tmp_path / "cube"
    shutil.copytree(SHARED_SCENES / "deadline_maya_cube" / "scene", scene)
    return scene / "cube.ma"


@pytest.fixture
def recorder():
    server = BatchRecorder(pools={"render-pool": {"id": "render-pool"}}).start()
    yield server
    server.stop()


def write_config(tmp_path, **profile) -> None:
    (tmp_path / "config").mkdir(exist_ok=True)
    lines = [f'{key} = "{value}"' for key, value in profile.items()]
    (tmp_path / "config" / "config.toml").write_text("[profiles.studio]\n" + "\n".join(lines) + "\n")


def test_dry_run_json_is_exactly_what_execute_sends(run_cli, maya_cube, recorder, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    write_config(tmp_path, batch_url=recorder.url, batch_auth="key", storage_url=store.as_uri(), pool_id="render-pool")
    args = ("submit", maya_cube, "--frames", "1-6", "--chunk", "2", "--job-name", "cube", "--json")
    dry = run_cli(*args, "--dry-run", env={"AZRENDER_BATCH_KEY": BATCH_KEY})
    assert dry.returncode == 0, dry.stderr
    assert not any(store.rglob("*")), "a dry run uploads nothing"
    assert recorder.requests == [], "a dry run sends nothing"
    planned = json.loads(dry.stdout)

    sent = run_cli(*args, env={"AZRENDER_BATCH_KEY": BATCH_KEY})
    assert sent.returncode == 0, sent.stderr
    job_id = json.loads(sent.stdout)["job_id"]
    [job] = [r.json for r in recorder.requests if (r.method, r.path) == ("POST", "/jobs")]
    tasks = [t for r in recorder.requests if r.path.endswith("/addtaskcollection") for t in r.json["value"]]
    # Job ids are unique per submission; everything else must be byte for byte what was printed.
    printed = json.loads(json.dumps(planned).replace(planned["job"]["id"], job_id))
    assert job == printed["job"]
    assert tasks == printed["tasks"]
    assert printed["pool"] is None
    assert BATCH_KEY not in dry.stdout + dry.stderr + sent.stdout + sent.stderr


def test_planning_sends_nothing_and_execute_sends_the_plan(maya_cube, tmp_path, monkeypatch):
    from azrender.backends.local.backend import LocalBackend
    from azrender.pipeline import SubmitRequest, execute, plan_submission
    from azrender.settings import Settings
    from azrender.sync.content import content_key
    from azrender.sync.manifest import Manifest
    from azrender.sync.stores import open_store

    monkeypatch.setenv("AZRENDER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AZRENDER_MAYA_RENDER", "/bin/true")  # the local backend's renderer check
    store = tmp_path / "store"
    store.mkdir()
    settings = Settings(storage_url=store.as_uri())

    class Recording(LocalBackend):
        def submit(self, plan, record):
            sent.append(plan.requests)
            return record

    sent = []
    backend = Recording(settings)
    plan = plan_submission(SubmitRequest(scene=maya_cube, frames="1-3"), backend=backend, settings=settings)
    assert not any(store.rglob("*")), "planning uploads nothing"
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.warnings = ()
    assert plan.backend == "local" and plan.task_count == 3 and plan.problems == ()
    # animation is off in cube.ma: other frames than its current one render as a numbered sequence,
    # named after the artist's cube.ma (not the copy the node opens)
    assert [o.path for o in plan.expected_outputs] == ["cube.1.exr", "cube.2.exr", "cube.3.exr"]
    keys = {key for _, key in plan.uploads}
    assert any(key.endswith("cube.azrender.ma") for key in keys) and any(key.endswith("dirmap.py") for key in keys)

    result = execute(plan, backend)
    assert sent == [plan.requests], "execute sends the planned requests, not new ones"
    stored = {obj.key for obj in open_store(store.as_uri()).list("")}
    manifest = Manifest.from_bytes((store / plan.manifest_key).read_bytes())  # each planned file, pinned by hash
    assert {e.key for e in manifest.entries} == keys and {content_key(e.hash) for e in manifest.entries} <= stored
    assert (result.job_id, result.backend, result.task_count) == (plan.job_id, "local", 3)
    from azrender import jobrecord

    assert jobrecord.load(plan.job_id).backend == "local"


def test_a_blocked_plan_says_why_and_cannot_be_executed(maya_cube, tmp_path, monkeypatch):
    from azrender.backends.local.backend import LocalBackend
    from azrender.errors import ValidationError
    from azrender.jobs.model import Problem
    from azrender.pipeline import SubmitRequest, execute, plan_submission
    from azrender.plugins import hookimpl, new_plugin_manager
    from azrender.settings import Settings

    monkeypatch.setenv("AZRENDER_STATE_DIR", str(tmp_path / "state"))

    class Refuse:
        @hookimpl
        def azrender_validate(self, submission):
            return [Problem("error", f"{submission.scene.name} is work in progress")]

    settings = Settings(storage_url=(tmp_path / "store").as_uri())
    pm = new_plugin_manager(load_entry_points=False, plugins=[Refuse()])
    plan = plan_submission(SubmitRequest(scene=maya_cube, frames="1", dry_run=True), backend=LocalBackend(settings),
                           settings=settings, plugin_manager=pm)
    assert plan.problems == ("cube.ma is work in progress",) and plan.requests is None and plan.uploads == ()
    with pytest.raises(ValidationError, match="cube.ma: submission blocked:\n  cube.ma is work in progress"):
        execute(plan, LocalBackend(settings), plugin_manager=pm)
    assert not (tmp_path / "store").exists()


def test_one_place_chooses_the_backend(tmp_path, monkeypatch):
    from azrender import jobrecord
    from azrender.backends.choose import choose_backend
    from azrender.errors import UsageError
    from azrender.settings import Settings

    monkeypatch.setenv("AZRENDER_STATE_DIR", str(tmp_path / "state"))
    batch = Settings(batch_url="https://acct.westeurope.batch.azure.com")
    assert choose_backend(None, Settings()).kind == "local"
    assert choose_backend(None, batch).kind == "batch"
    assert choose_backend("local", batch).kind == "local"
    jobrecord.save(jobrecord.JobRecord(job_id="j1", backend="local", scene="s.blend", store_url="file:///s"))
    assert choose_backend(None, batch, job_id="j1").kind == "local"  # the backend that ran it
    with pytest.raises(UsageError, match="no Batch account configured"):
        choose_backend("batch", Settings()).status("j1")


def test_the_profile_storage_mode_and_node_os_hold_unless_the_command_line_says_otherwise(run_cli, maya_cube, tmp_path):
    def submit(scene, *args):
        return run_cli("submit", scene, "--dry-run", "--json", "--backend", "batch", "--frames", "1", "--pool", "p",
                       "--storage-url", "https://studioassets.blob.core.windows.net/renders", *args)

    def command(scene, *args) -> str:
        proc = submit(scene, *args)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["tasks"][0]["commandLine"]

    max_scene = SHARED_SCENES / "max_minihouse" / "MiniHouse.max"  # renders on Windows nodes only
    write_config(tmp_path, node_os="windows")
    assert command(max_scene).startswith("cmd /c ")
    refused = submit(max_scene, "--os", "linux")
    assert refused.returncode == 2 and "Windows nodes only" in refused.stderr
    write_config(tmp_path, storage_mode="blobfuse")

    def preparation(scene, *args) -> str:  # tasks read the job's view in every mode; its preparation differs
        proc = submit(scene, *args)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["job"]["jobPreparationTask"]["commandLine"]

    assert '--content-dir "${AZ_BATCH_NODE_MOUNTS_DIR}/azrender' in preparation(maya_cube)
    assert "${AZ_BATCH_NODE_MOUNTS_DIR}" not in preparation(maya_cube, "--storage", "copy")


def test_a_wrong_choice_in_config_toml_is_one_line_before_any_work(run_cli, maya_cube, tmp_path):
    write_config(tmp_path, pool_id="p", storage_mode="nfs")
    proc = run_cli("submit", maya_cube, "--dry-run", "--backend", "batch")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"azrender submit: error: {tmp_path / 'config' / 'config.toml'}, line 3: storage_mode "
                                   "in [profiles.studio]: unknown storage mode 'nfs'; use one of: copy, blobfuse, fileshare")
    assert not (tmp_path / "state" / "submissions").exists(), "nothing was planned"


@pytest.mark.parametrize("field, value, message", [
    ("storage_mode", "nfs", "unknown storage mode 'nfs'; use one of: copy, blobfuse, fileshare"),
    ("node_os", "macos", "unknown node OS 'macos'; use one of: linux, windows"),
    ("backend", "aws", "unknown backend 'aws'; use one of: local, batch"),
])
def test_a_wrong_choice_from_a_host_panel_or_script_is_refused_where_it_enters(field, value, message):
    from azrender.errors import UsageError
    from azrender.pipeline import SubmitRequest

    with pytest.raises(UsageError) as info:
        SubmitRequest(scene="shot.blend", **{field: value})
    assert str(info.value) == message
    assert SubmitRequest(scene="shot.blend", storage_mode="BlobFuse").storage_mode == "blobfuse"


def test_a_host_submission_discovers_once(maya_cube, tmp_path, monkeypatch):
    """The host's collected report is the plan's report: the scene is not scanned again headless
    and a studio's dependency hooks run once."""
    import textwrap

    from azrender.backends.local.backend import LocalBackend
    from azrender.discovery.model import Kind
    from azrender.discovery.resolve import RawReference
    from azrender.hosts.submission import prepare_request
    from azrender.pipeline import plan_submission
    from azrender.plugins import new_plugin_manager
    from azrender.settings import Settings

    (tmp_path / "counting_plugin.py").write_text(textwrap.dedent("""
        import azrender
        CALLS = []

        @azrender.hookimpl
        def azrender_add_dependencies(scene, report):
            CALLS.append(scene)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("AZRENDER_PLUGINS", "counting_plugin")
    monkeypatch.setenv("AZRENDER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AZRENDER_MAYA_RENDER", "/bin/true")  # the local backend's renderer check
    import counting_plugin

    texture = maya_cube.parent / "only_the_host_knows.png"
    texture.write_bytes(b"png")
    prepared = prepare_request(maya_cube, [RawReference(str(texture), Kind.TEXTURE, "file1.ftn", str(maya_cube),
                                                        host="maya")], host="maya", frames="1", dry_run=True)
    settings = Settings(storage_url=(tmp_path / "store").as_uri())
    plan = plan_submission(prepared.request, backend=LocalBackend(settings), settings=settings,
                           plugin_manager=new_plugin_manager())
    assert counting_plugin.CALLS == [str(maya_cube)]
    assert [d.path for d in plan.report.dependencies] == [str(texture)], "what the host found, nothing scanned again"
    assert any(key.endswith("cube/only_the_host_knows.png") for _, key in plan.uploads)


def test_the_local_backend_cancels_a_running_job_through_the_protocol(tmp_path):
    import time

    from azure.batch import models as m

    from azrender.backends.local.backend import LocalBackend
    from azrender.progress import no_progress
    from azrender.settings import Settings

    backend = LocalBackend(Settings(), root=tmp_path / "batch")
    client = backend.client()
    client.create_job(m.BatchJobCreateOptions(id="j1", pool_info=m.BatchPoolInfo(pool_id="local")))
    client.create_tasks("j1", [m.BatchTaskCreateOptions(id="t1", command_line="/bin/bash -c 'sleep 120'")])
    deadline = time.monotonic() + 60
    while backend.status("j1").count("running") == 0:
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.2)
    started = time.monotonic()
    backend.cancel("j1")
    status = backend.wait("j1", no_progress)
    assert time.monotonic() - started < 30, "cancelling must not wait for the task to end by itself"
    assert status.state == "completed" and [t.id for t in status.failed] == ["t1"]
    assert backend.status("j1").to_json()["done"] is True
