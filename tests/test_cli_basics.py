import pytest

from azrender.errors import UsageError
from azrender.jobs.frames import chunk_frames, parse_frames


def test_help_lists_every_pipeline_command(run_cli):
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in ("deps", "sync", "fetch", "paths", "submit", "status", "download"):
        assert command in proc.stdout


@pytest.mark.parametrize("text,expected", [
    ("1-4", [1, 2, 3, 4]), ("7", [7]), ("1-10x3", [1, 4, 7, 10]), ("5,1-2,5", [1, 2, 5]), ("-2-0", [-2, -1, 0]),
])
def test_frame_ranges(text, expected):
    assert parse_frames(text) == expected


@pytest.mark.parametrize("text", ["10-1", "a-b", "", "1-5x0", "0-99999999999", "1--"])
def test_bad_frame_ranges_say_why(text):
    with pytest.raises(UsageError):
        parse_frames(text)


def test_chunks_break_at_gaps():
    assert chunk_frames([1, 2, 3, 4, 5, 9, 10], 2) == [[1, 2], [3, 4], [5], [9, 10]]
