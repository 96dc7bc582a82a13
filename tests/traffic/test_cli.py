"""``callcenter simulate``: the table, JSON, the options, refusals, and ``--db`` for reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callcenter.cli import main
from tests.test_cli_report import table
from tests.traffic.conftest import HOTLINE, WriteScenario


def test_prints_a_table_per_queue_and_interval(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(HOTLINE)]) == 0
    out = capsys.readouterr().out
    assert "seed 1, 08:00-12:00, 30-minute intervals" in out
    assert "service level = answered within the queue's threshold / offered" in out
    sales = out.split("sales (answered within 20 s counts in service level)\n")[1].split("\n\n")[0]
    rows = table(sales, "interval")
    assert list(rows) == ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30",
                          "total"]  # fmt: skip
    offered = [int(cells[0]) for label, cells in rows.items() if label != "total"]
    assert int(rows["total"][0]) == sum(offered)
    assert "no calls: billing, faults, new-service, service-desk" in out


def test_json_figures_add_up(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(HOTLINE), "--json", "--interval", "60"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["interval_minutes"] == 60
    sales = figures["queues"]["sales"]
    assert [row["start"] for row in sales["intervals"]] == ["08:00", "09:00", "10:00", "11:00"]
    whole = sales["total"]
    assert whole["offered"] == sum(row["offered"] for row in sales["intervals"]) > 100
    assert whole["service_level"] == pytest.approx(
        whole["answered_within_threshold"] / whole["offered"]
    )
    assert whole["answered"] + whole["abandoned"] + whole["left"] <= whole["offered"]
    assert 0 < whole["occupancy"] < 1
    assert figures["ended_before_a_queue"]["dialplan"] > 0  # self-service menu options


def test_bad_options_and_scenarios_are_refused(
    write_scenario: WriteScenario, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", str(HOTLINE), "--staff", "sales"]) == 2
    assert "'sales': write QUEUE=AGENTS, e.g. sales=12" in capsys.readouterr().err
    assert main(["simulate", str(HOTLINE), "--staff", "nowhere=3"]) == 1
    assert "no queue nowhere" in capsys.readouterr().err
    assert main(["simulate", str(HOTLINE), "--interval", "0"]) == 2
    capsys.readouterr()
    broken = write_scenario("day: {start: '08:00', end: '09:00'}\narrivals: []\n")
    assert main(["simulate", str(broken)]) == 1
    err = capsys.readouterr().err
    assert f"{broken}:2:11: arrivals: a list is not allowed: must have at least 1 entry" in err
    assert f"{broken}:1:1: agents: missing required key 'agents'" in err


def test_db_writes_what_report_reads_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "sim.db")
    args = ["simulate", str(HOTLINE), "--json", "--db", db, "--date", "2026-03-02"]
    assert main(args) == 0
    figures = json.loads(capsys.readouterr().out)["queues"]
    assert main(["report", "--db", db, "--by", "queue", "--short-abandon", "0",
                 "--since", "2026-03-02", "--to", "2026-03-03"]) == 0  # fmt: skip
    report = table(capsys.readouterr().out, "group")
    for queue, figure in figures.items():
        whole = figure["total"]
        if whole["offered"]:
            # report columns: slot ("whole period" is two words), offered, answered, abandoned
            expected = [str(whole[k]) for k in ("offered", "answered", "abandoned")]
            assert report[queue][2:5] == expected, queue
