"""Bad input wherever it enters: fuzzed manifests, job records, local-backend state files, config
TOML, store URLs and frame ranges (hypothesis, bounded examples), and hostile names through the CLI.
Each gives the project's own one-line error, never another exception, and writes nothing outside
where it should.

Already covered elsewhere (not repeated): every scene reader fuzzed (test_discovery_fuzz), a few
malformed manifests / URLs / configs / frame ranges by example (test_sync_formats,
test_jobs_settings, test_cli_basics), hostile blob names refused by fetch (test_sync_cli) and by
the node's preparation (test_jobs_node).
"""

from __future__ import annotations

import json
import os
import string
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from azrender.errors import AzrenderError, JobError, UsageError

# CI runs 200 examples per reader; AZRENDER_FUZZ_EXAMPLES=5000 for a deeper campaign by hand.
FUZZ = settings(max_examples=int(os.environ.get("AZRENDER_FUZZ_EXAMPLES", "200")), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
CASES: Counter = Counter()  # fuzz cases run per reader, reported at the end of the module
DEEP = b"[" * 100_000  # nesting deeper than any JSON parser's recursion limit

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)


@pytest.fixture(scope="module", autouse=True)
def report_cases(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter and CASES:
        reporter.write_line("fuzz cases per reader: " + ", ".join(f"{k} {v}" for k, v in sorted(CASES.items())))


def one_line(exc: AzrenderError) -> None:
    assert exc.message and "\n" not in exc.message, exc.message
    assert "Traceback" not in exc.message


# ---- manifests ----------------------------------------------------------------------------------

entry_values = st.fixed_dictionaries({}, optional={
    "key": json_values | st.text(max_size=30), "size": json_values, "mtime_ns": json_values, "hash": json_values})
manifest_docs = st.fixed_dictionaries({"version": st.sampled_from([1, 1, 1, 2, "1", None])},
                                      optional={"entries": st.lists(entry_values, max_size=5) | json_values})


@FUZZ
@given(st.binary(max_size=512) | manifest_docs.map(lambda d: json.dumps(d).encode()))
@example(DEEP)
@example(b'{"version":1,"entries":[{"key":"a","size":1e400,"mtime_ns":0,"hash":"x"}]}')
def test_manifest_reader(data):
    from azrender.sync.manifest import Manifest, ManifestError

    CASES["manifest"] += 1
    try:
        manifest = Manifest.from_bytes(data, source="fuzzed.manifest.json")
    except ManifestError as exc:
        one_line(exc)
        assert exc.message.startswith("fuzzed.manifest.json: ")
        return
    for entry in manifest.entries:  # what it accepts is well typed
        assert isinstance(entry.key, str) and entry.key and isinstance(entry.hash, str)
        assert type(entry.size) is int and entry.size >= 0 and type(entry.mtime_ns) is int


# ---- job records (<state>/jobs/<id>.json) -------------------------------------------------------

record_docs = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 1, 1, 0, "1"])},
    optional={name: st.text(max_size=12) | json_values for name in
              ("job_id", "backend", "scene", "store_url", "batch_url", "local_root", "profile", "task_count")}
    | {"backend": st.sampled_from(["local", "batch", "weird", ""])})


@FUZZ
@given(st.binary(max_size=256) | record_docs.map(lambda d: json.dumps(d).encode()))
@example(DEEP)
def test_job_record_reader(tmp_path_factory, data):
    from azrender import jobrecord

    state = tmp_path_factory.mktemp("state")
    os.environ["AZRENDER_STATE_DIR"] = str(state)
    try:
        (state / "jobs").mkdir()
        (state / "jobs" / "j1.json").write_bytes(data)
        CASES["job record"] += 1
        try:
            record = jobrecord.load("j1")
        except JobError as exc:
            one_line(exc)
            assert str(state / "jobs" / "j1.json") in exc.message
            return
        assert record.backend in ("local", "batch")
        assert all(isinstance(getattr(record, f), str) for f in ("job_id", "scene", "store_url"))
        assert type(record.task_count) is int
    finally:
        del os.environ["AZRENDER_STATE_DIR"]


def valid_state_docs():
    """One real record of each kind, as the local backend writes them."""
    from azrender.backends.local import state

    return {
        state.PoolRecord: {"kind": "pool", "version": state.VERSION, **_fields_of(state.PoolRecord)},
        state.NodeRecord: {"kind": "node", "version": state.VERSION, **_fields_of(state.NodeRecord)},
        state.JobState: {"kind": "job", "version": state.VERSION, **_fields_of(state.JobState)},
        state.TaskRecord: {"kind": "task", "version": state.VERSION, **_fields_of(state.TaskRecord)},
    }


def _fields_of(cls) -> dict:
    """Plausible values for every field of a record class, by its annotation."""
    from dataclasses import MISSING, fields

    out = {}
    for f in fields(cls):
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:  # type: ignore[misc]
            out[f.name] = f.default_factory()  # type: ignore[misc]
        else:
            out[f.name] = 0 if f.type.startswith("int") else False if f.type == "bool" else {} if "dict" in f.type else "x"
    return out


@FUZZ
@given(st.data())
@example(None)
def test_local_backend_state_reader(tmp_path_factory, data):
    from azrender.backends.local import state

    docs = valid_state_docs()
    path = tmp_path_factory.mktemp("st") / "record.json"
    if data is None:
        cls, raw = state.JobState, DEEP
    else:
        cls = data.draw(st.sampled_from(sorted(docs, key=lambda c: c.__name__)))
        doc = dict(docs[cls])
        for name in data.draw(st.lists(st.sampled_from(sorted(doc)), max_size=3)):  # break some fields
            doc[name] = data.draw(json_values)
        if data.draw(st.booleans()):
            doc[data.draw(st.text(min_size=1, max_size=8))] = data.draw(json_values)
        raw = data.draw(st.just(json.dumps(doc).encode()) | st.binary(max_size=200))
    path.write_bytes(raw)
    CASES["local backend state"] += 1
    try:
        state.load(path, cls)
    except JobError as exc:
        one_line(exc)
        assert str(path) in exc.message


# ---- config TOML --------------------------------------------------------------------------------

TOML_BITS = ["[profiles.a]\n", "[profiles.a.pool]\n", "[profiles]\n", 'default_profile = "a"\n', "backend = ",
             "batch_url = ", "storage_url = ", "vm_size = ", "image = ", "node_agent_sku = ", "chunk = ",
             "dedicated = ", "pool = ", '"x"', "3", "true", "[1, 2]", '["a"]', "{}", "\n", "=", "[[profiles.a]]\n",
             "unknown = 1\n", "profiles = 5\n", "'''", '"\\u0000"', "1979-05-27T07:32:00Z", "nan", "\ufeff"]


@FUZZ
@given(st.lists(st.sampled_from(TOML_BITS), max_size=12).map("".join) | st.text(max_size=200))
@example("[profiles.a]\n" + "x = [" * 5000)
def test_config_reader(tmp_path_factory, text):
    from azrender.settings import load_settings

    path = tmp_path_factory.mktemp("cfg") / "config.toml"
    path.write_text(text, encoding="utf-8")
    CASES["config"] += 1
    try:
        load_settings(path=path)
    except UsageError as exc:
        one_line(exc)
        assert str(path) in exc.message


# ---- store URLs ---------------------------------------------------------------------------------

URL_BITS = ["https://", "http://", "file://", "file:///", "acct", ".blob.core.windows.net", "127.0.0.1", ":10000",
            ":99999", ":x", "/devstoreaccount1", "/box", "/Bad_Name", "/", "//", "?", "sv=1&sig=abc", "%zz", "[", "]",
            "::1", "@", "#", "..", "\\", "C:", " ", "\x00", "é"]


@FUZZ
@given(st.lists(st.sampled_from(URL_BITS), max_size=8).map("".join) | st.text(max_size=60))
@example("http://[::1/x")
@example("http://:x:10000é:99999:10000/box")
@example("https://acct.blob.core.windows.net:99999/box")
def test_store_url_reader(monkeypatch, url):
    from azrender.sync.stores import open_store

    for name in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_KEY"):
        monkeypatch.delenv(name, raising=False)
    CASES["store URL"] += 1
    try:
        store = open_store(url, credential="a2V5LWZvci1wYXJzaW5nLW9ubHk=")  # no request is made
    except UsageError as exc:
        one_line(exc)
        return
    assert "sig=abc" not in store.display_url


# ---- frame ranges -------------------------------------------------------------------------------


@FUZZ
@given(st.text(alphabet=string.digits + "-,:x. by", max_size=24) | st.text(max_size=12))
@example("0-999999999999999999999")
@example("1-1000000x1,2-3")
def test_frame_range_reader(text):
    from azrender.jobs.frames import MAX_FRAMES, parse_frames

    CASES["frame range"] += 1
    try:
        frames = parse_frames(text)
    except UsageError as exc:
        one_line(exc)
        return
    assert frames == sorted(set(frames)) and 0 < len(frames) <= MAX_FRAMES


# ---- hostile names through the CLI --------------------------------------------------------------


def assert_one_clear_line(proc, codes=(2, 3, 4, 5, 6)) -> None:
    assert proc.returncode in codes, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, proc.stderr


LONG = "a" * 300  # over every file system's 255-byte name limit


@pytest.mark.parametrize("args", [
    ["sync", LONG, "--to", "{tmp}/store"],
    ["sync", "/", "--to", "{tmp}/store"],
    ["sync", "{tmp}/proj", "--to", "http://[::1/box"],
    ["sync", "{tmp}/proj", "--to", "ftp://host/box"],
    ["sync", "{tmp}/proj", "--to", f"file:///{LONG}/x"],
    ["fetch", "https://acct.blob.core.windows.net/Bad_Name", "--dest", "{tmp}/out"],
    ["fetch", "{tmp}/store", "--dest", f"{{tmp}}/{LONG}"],
    ["paths", f"{LONG}.blend"],
    ["paths", "{tmp}/proj"],
    ["paths", "CON.ma"],
    ["submit", f"{LONG}.blend", "--dry-run"],
    ["submit", "../../../../etc/passwd", "--dry-run"],
    ["submit", "{tmp}/proj/garbage.blend", "--dry-run"],
    ["submit", "{tmp}/proj/garbage.blend", "--dry-run", "--frames", "10-1"],
    ["status", "../../etc/passwd"],
    ["status", "NUL"],
    ["download", "../x", "--dest", "{tmp}/out"],
])
def test_hostile_arguments_are_one_clear_line_and_write_nothing_outside(run_cli, tmp_path, args):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "garbage.blend").write_bytes(b"BLENDER-v300" + os.urandom(64))
    (tmp_path / "store" / "proj").mkdir(parents=True)
    (tmp_path / "store" / "proj" / "a.txt").write_bytes(b"a")
    def written():  # where a stray relative or '..' path would land: the working folder and beside it
        return {p for p in tmp_path.parent.rglob("*")}

    before = written()
    proc = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args], cwd=tmp_path, timeout=60)
    assert_one_clear_line(proc)
    own = [tmp_path / name for name in ("config", "cache", "state")]  # azrender's folders in this test
    new = {p for p in written() - before if not any(p.is_relative_to(folder) for folder in own)}
    assert not new, f"written outside where it should: {sorted(new)[:5]}"


def test_reserved_unicode_and_case_colliding_names_round_trip_exactly(run_cli, tmp_path):
    """Names Windows refuses or folds, and both Unicode normal forms, are ordinary files on Linux:
    sync then fetch gives back exactly the same tree, and nothing lands outside the destination."""
    names = ["CON", "NUL", "aux.txt", "COM1.png", "A.png", "a.png", "é.png", "e\u0301.png", "tr ailing .",
             "x" * 255, "-rf", "$(touch pwned)", "`id`", "semi;colon", "new\nline.png"]
    proj = tmp_path / "proj"
    proj.mkdir()
    for n, name in enumerate(names):
        (proj / name).write_bytes(f"{n}".encode())
    store = tmp_path / "store"
    assert run_cli("sync", proj, "--to", store.as_uri()).returncode == 0
    back = tmp_path / "back"
    proc = run_cli("fetch", store.as_uri(), "--dest", back)
    assert proc.returncode == 0, proc.stderr
    got = {p.name: p.read_bytes() for p in (back / "proj").iterdir()}
    assert got == {name: f"{n}".encode() for n, name in enumerate(names)}
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
    assert {p.name for p in back.iterdir()} == {"proj"}  # the folder, as files (its manifest is how it is stored)
