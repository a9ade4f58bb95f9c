"""What the host plugins share: the background runner the UIs poll, the missing-file refusal,
frame ranges from host settings."""

from __future__ import annotations

import threading

import pytest

from azrender.discovery.model import Dependency, Kind, SceneReport
from azrender.errors import MissingAssetsError, StoreError
from azrender.hosts.background import Background
from azrender.hosts.submission import check_complete, frame_range


def test_a_ui_polling_the_worker_sees_progress_then_the_result():
    release = threading.Event()

    def work(progress):
        progress("sync", 1, 4, "wood.png")
        release.wait(10)
        return "job-42"

    background = Background(work).start()
    for _ in range(200):
        if background.poll().message == "wood.png":
            break
        threading.Event().wait(0.01)
    snapshot = background.poll()
    assert (snapshot.stage, snapshot.fraction, snapshot.finished) == ("sync", 0.25, False)
    assert snapshot.text == "azrender sync 25% wood.png"
    release.set()
    final = background.wait(10)
    assert final.finished and final.result == "job-42" and final.error is None


def test_a_failure_reaches_the_ui_as_one_line_without_secrets():
    secret = "sig=c2VjcmV0c2VjcmV0c2VjcmV0"

    def work(progress):
        raise StoreError(f"upload refused for https://acct.blob.core.windows.net/c/x?sv=2024&{secret}")

    snapshot = Background(work).start().wait(10)
    assert snapshot.finished and snapshot.result is None
    assert snapshot.error.startswith("upload refused") and "c2VjcmV0" not in snapshot.error
    assert "\n" not in snapshot.error


def test_a_bug_in_the_worker_is_reported_not_lost():
    snapshot = Background(lambda progress: {}["missing"]).start().wait(10)
    assert snapshot.error == "internal error: KeyError: 'missing'"


def _report(missing: int) -> SceneReport:
    report = SceneReport(scene="/shows/a/shot.blend")
    report.add(Dependency("/shows/a/ok.png", True, Kind.TEXTURE, size=3))
    for n in range(missing):
        report.add(Dependency(f"/shows/a/gone{n}.png", False, Kind.TEXTURE))
    return report


def test_missing_files_are_named_the_first_few_then_counted():
    check_complete(_report(0))
    with pytest.raises(MissingAssetsError) as error:
        check_complete(_report(7))
    message = str(error.value)
    assert message.startswith("shot.blend: 7 missing file(s): /shows/a/gone0.png, ")
    assert "gone4.png and 2 more" in message and "gone5" not in message
    assert len(error.value.missing) == 7


@pytest.mark.parametrize("start,end,step,text", [(1, 250, 1, "1-250"), (7, 7, 1, "7"), (0, 100, 10, "0-100x10"),
                                                 (5, 5, 3, "5")])
def test_host_frame_ranges_in_azrender_syntax(start, end, step, text):
    from azrender.jobs.frames import parse_frames

    assert frame_range(start, end, step) == text
    assert parse_frames(text) == list(range(start, end + 1, step))


def test_a_multi_line_refusal_becomes_one_line_with_every_reason():
    from azrender.errors import ValidationError
    from azrender.hosts.background import error_line

    exc = ValidationError("shot.blend: submission blocked:\n  shot.blend is WIP\n  pool gpu is full", hint="ask the TD")
    assert error_line(exc) == "shot.blend: submission blocked: shot.blend is WIP; pool gpu is full; hint: ask the TD"


def test_a_submission_copy_that_cannot_be_saved_is_one_clear_error(tmp_path):
    from azrender.errors import SceneError
    from azrender.hosts.submission import prepare_request

    scene = tmp_path / "shot.blend"
    scene.write_bytes(b"BLENDER-v300")

    def refuse(path):
        raise RuntimeError("Error: Cannot open file for writing: Permission denied")

    with pytest.raises(SceneError, match="cannot save the submission copy .*shot.azrender-submit.blend: .*Permission denied"):
        prepare_request(scene, [], host="blender", save_copy=refuse)


def test_a_host_error_points_an_artist_at_the_config_file_and_creates_its_folder(tmp_path, monkeypatch):
    from azrender.errors import UsageError
    from azrender.hosts.background import error_line

    monkeypatch.setenv("AZRENDER_CONFIG_DIR", str(tmp_path / "config"))
    line = error_line(UsageError("no Batch account configured", hint="pass --batch-url or set batch_url in config.toml"))
    assert line == f"no Batch account configured hint: set batch_url in {tmp_path / 'config' / 'config.toml'}"
    assert (tmp_path / "config").is_dir()  # the artist can save the file there right away
    from azrender.hosts.background import host_hint

    # a flag with a plain value goes too (the dialog has no --os: the hint says what it has)
    assert host_hint('pass --os windows or choose a profile with node_os = "windows" in config.toml') == \
        f'choose a profile with node_os = "windows" in {tmp_path / "config" / "config.toml"}'
