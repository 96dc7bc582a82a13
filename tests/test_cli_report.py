"""`callcenter demo --db` writes a simulated morning to a store; `callcenter report` reads
it back, and its figures agree with what the demo's routing core counted live."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "queues"


def table(text: str, first_column: str) -> dict[str, list[str]]:
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == [first_column])
    rows = {}
    for line in lines[header + 1 :]:
        cells = line.split()
        if len(cells) < 4 or line.startswith(("left without", "Written to")):
            break  # the table ends at the first line that is not a row of figures
        rows[cells[0]] = cells[1:]
    return rows


def test_report_reads_back_what_the_demo_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "demo.db")
    args = ["--config", str(SAMPLES), "--db", db, "--hours", "1", "--seed", "4"]
    assert main(["demo", "--virtual", *args]) == 0
    demo = table(capsys.readouterr().out, "queue")
    # Short abandons are left out of the report's count by default; the core counts all.
    assert main(["report", "--db", db, "--by", "queue", "--short-abandon", "0"]) == 0
    report = table(capsys.readouterr().out, "group")
    assert set(report) == set(demo)
    for queue, (offered, answered, abandoned, *_) in demo.items():
        # report columns: slot ("whole period" is two words), offered, answered, abandoned
        assert report[queue][2:5] == [offered, answered, abandoned], queue


def test_report_by_campaign_names_the_advertising_campaigns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "demo.db")
    assert main(["demo", "--virtual", "--config", str(SAMPLES), "--db", db, "--hours", "1"]) == 0
    capsys.readouterr()
    assert main(["report", "--db", db, "--by", "campaign", "--slot", "30"]) == 0
    out = capsys.readouterr().out
    assert "cctv1-evening" in out
    assert "08:00" in out
    assert "08:30" in out
