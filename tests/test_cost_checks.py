"""The price table and its overrides, the estimate's arithmetic, and the scout checks on frames a
person would call broken (no Blender needed: the frames are drawn with Pillow)."""

from __future__ import annotations

import pytest
from PIL import Image

from azrender.cost.estimate import Measured, estimate
from azrender.cost.prices import load_prices, shipped
from azrender.errors import UsageError
from azrender.scout.checks import check_task, image_findings
from azrender.scout.select import scout_frames, scout_tasks


def test_shipped_table_is_dated_and_prices_windows_per_core():
    table = shipped()
    assert table.as_of and table.currency == "USD"
    linux = table.node_hour("standard_d16s_v5")  # sizes ignore case, as Azure does
    assert linux == pytest.approx(0.768)
    assert table.node_hour("Standard_D16s_v5", "windows") == pytest.approx(0.768 + 16 * table.windows_per_vcpu_hour)
    assert table.node_hour("Standard_Nope") is None


def test_config_overrides_the_table_and_bad_values_are_one_line(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[prices]\nas_of = "2026-11-01"\ncurrency = "EUR"\n[prices.vm]\nStandard_D16s_v5 = 0.70\nMy_Size = 1\n')
    table = load_prices(config)
    assert (table.as_of, table.currency, table.node_hour("Standard_D16s_v5"), table.node_hour("my_size")) == \
        ("2026-11-01", "EUR", 0.70, 1.0)
    assert table.node_hour("Standard_D8s_v5") == shipped().node_hour("Standard_D8s_v5")
    config.write_text('[prices.vm]\nStandard_D16s_v5 = "cheap"\n')
    with pytest.raises(UsageError, match="Standard_D16s_v5 must be a number"):
        load_prices(config)
    config.write_text('[prices]\negress = 1\n')
    with pytest.raises(UsageError, match="unknown setting 'egress' in \\[prices\\]"):
        load_prices(config)


def test_estimate_scales_measured_frames_to_the_job():
    table = shipped()
    e = estimate(Measured(frames=3, node_seconds=3 * 360, output_bytes=3 * 10**8), frames=100, nodes=10,
                 vm_size="Standard_D16s_v5", node_os="linux", prices=table)
    assert e.node_hours == pytest.approx(10.0) and e.wall_hours == pytest.approx(1.0)
    assert e.compute == pytest.approx(7.68)
    assert e.transfer == pytest.approx(10 * table.egress_per_gb + 10 * table.storage_per_gb_month)
    assert "100 frames x 360.0 s = 10.00 node-hours" in e.line() and "USD" in e.line()
    unknown = estimate(Measured(1, 60), frames=2, nodes=1, vm_size="Standard_X", node_os="linux", prices=table)
    assert unknown.total is None and "not in the price table" in unknown.line()


def test_scout_frames_first_middle_last_or_chosen():
    assert scout_frames("auto", tuple(range(1, 101))) == (1, 51, 100)
    assert scout_frames("auto", (7,)) == (7,)
    assert scout_frames("10,20", tuple(range(1, 101))) == (10, 20)
    with pytest.raises(UsageError, match="not among the job's frames"):
        scout_frames("500", tuple(range(1, 101)))
    tasks = {"frames-0001-0010": tuple(range(1, 11)), "frames-0011-0020": tuple(range(11, 21))}
    assert scout_tasks(tasks, (5,)) == ["frames-0001-0010"]


def _frame(path, colour, size=(64, 32), mode="RGBA"):
    Image.new(mode, size, colour).save(path)
    return path


def test_image_checks_see_black_empty_and_pink_frames(tmp_path):
    assert image_findings(_frame(tmp_path / "ok.png", (90, 120, 200, 255))) == []
    assert image_findings(_frame(tmp_path / "black.png", (0, 0, 0, 255))) == ["the frame is entirely black"]
    assert image_findings(_frame(tmp_path / "empty.png", (0, 0, 0, 0))) == ["the frame is empty (fully transparent)"]
    pink = Image.new("RGB", (100, 100), (40, 80, 40))
    pink.paste((180, 3, 176), (0, 0, 50, 100))  # a shaded, half-frame missing texture
    pink.save(tmp_path / "pink.png")
    [finding] = image_findings(tmp_path / "pink.png")
    assert finding.startswith("50% of the frame is Blender's pink")
    purple = Image.new("RGB", (100, 100), (40, 80, 40))
    purple.paste((120, 40, 200), (0, 0, 50, 100))  # a purple object is not a missing texture
    purple.save(tmp_path / "purple.png")
    assert image_findings(tmp_path / "purple.png") == []
    (tmp_path / "zero.png").write_bytes(b"")
    assert image_findings(tmp_path / "zero.png") == ["the file is empty (0 bytes)"]


def test_task_check_wants_every_frame_and_reads_the_log(tmp_path):
    frame = _frame(tmp_path / "frame_0001.png", (90, 120, 200, 255))
    assert check_task("frames-0001", (1,), [frame], "Saved: 'frame_0001.png'\n") == []
    lines = [f.line() for f in check_task("frames-0001-0002", (1, 2), [frame],
                                           "Warning: unable to open /mnt/tex/wood.png\nLicense checkout failed\n")]
    assert lines == ["frames-0001-0002: a file could not be read: Warning: unable to open /mnt/tex/wood.png",
                     "frames-0001-0002: a licence was not available: License checkout failed",
                     "frames-0001-0002: no image for frame 2"]
    assert [f.message for f in check_task("t", (1,), [], "")] == ["rendered no image (expected one per frame)"]


def test_every_amount_says_which_prices_it_comes_from(tmp_path, monkeypatch):
    """Dated list prices, never "verified": the label rides with the estimate and the usage into
    the CLI's lines, --json and the host panels (which all draw watch_lines / watch_json)."""
    from azrender.watch.record import WatchRecord
    from azrender.watch.view import watch_json, watch_lines

    monkeypatch.setenv("AZRENDER_CONFIG_DIR", str(tmp_path))
    table = shipped()
    assert table.label == (f"Azure list prices of {table.as_of} (eastus) shipped with azrender, not your account's "
                           "(set yours under [prices] in config.toml)")
    e = estimate(Measured(frames=1, node_seconds=3600), frames=2, nodes=1, vm_size="Standard_D16s_v5",
                 node_os="linux", prices=table)
    assert e.line().endswith(f"(Standard_D16s_v5; {table.label})")
    record = WatchRecord(job_id="j", backend="batch", tasks={"t": [1, 2]}, vm_size="Standard_D16s_v5",
                         estimate=e.to_json(), state="scouting")
    lines = watch_lines(record)
    assert lines[1] == "estimate: 2.00 node-hours, 1.54 USD (Standard_D16s_v5) for 2 frames (from 1 measured)"
    assert lines[2] == f"prices: {table.label}" and watch_json(record)["prices"] == table.label

    config = tmp_path / "config.toml"
    config.write_text('[prices]\nas_of = "2026-11-01"\ncurrency = "EUR"\n[prices.vm]\nStandard_D16s_v5 = 0.5\n')
    mine = load_prices(config)
    assert mine.label == (f"your [prices] dated 2026-11-01 from {config}, over Azure list prices of {table.as_of} "
                          "(eastus) shipped with azrender")
    done = WatchRecord(job_id="j", backend="batch", tasks={"t": [1]}, vm_size="Standard_D16s_v5", state="done",
                       usage={"node_hours": 2.0, "cost": 1.0, "currency": "EUR", "prices": mine.label})
    assert watch_lines(done) == ["used: 2.00 node-hours, 1.00 EUR (Standard_D16s_v5)", f"prices: {mine.label}"]
    here = WatchRecord(job_id="j", backend="local", tasks={"t": [1]}, state="done",
                       usage={"node_hours": 0.01, "cost": 0.0, "currency": "USD", "prices": table.label})
    assert watch_lines(here) == ["used: 0.010 node-hours, no charge (this machine)"]  # no price to qualify
