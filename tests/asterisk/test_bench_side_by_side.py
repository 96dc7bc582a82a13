"""The side-by-side benchmark (bench/asterisk.py): its reading of CEL, and a small run of
both sides on the real Asterisk."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from bench import asterisk as bench
from tests.asterisk.rig import find_binary

CALLER = "Local/5000000@bench-in-engine-00000001;2"
AGENT = "Local/100000@bench-agent-00000002;1"
OTHER_CALLER = "Local/5000001@bench-in-engine-00000003;2"


def _line(event: str, at: float, channel: str, app: str = "", bridge: str = "") -> str:
    extra = json.dumps({"bridge_id": bridge, "bridge_technology": "simple_bridge"})
    return json.dumps({
        "eventtype": event, "eventtime": at, "channame": channel, "appname": app,
        "uniqueid": channel[-12:], "eventextra": extra if bridge else "",
    })  # fmt: skip


def test_join_ring_and_bridged_come_from_the_bridge_a_caller_shares_with_an_agent(
    tmp_path: Path,
) -> None:
    cel = tmp_path / "cel.json"
    cel.write_text("\n".join([
        _line("APP_START", 100.000, CALLER, app="Stasis"),
        _line("APP_START", 100.500, OTHER_CALLER, app="Stasis"),  # never served
        _line("BRIDGE_ENTER", 100.004, CALLER, bridge="hold-1"),   # the holding bridge
        _line("CHAN_START", 100.012, AGENT),
        _line("BRIDGE_ENTER", 100.030, CALLER, bridge="mix-1"),
        _line("BRIDGE_ENTER", 100.031, AGENT, bridge="mix-1"),
        '{"eventtype": "CHAN_START", "eventti',  # cut short at stop: skipped
    ]) + "\n")  # fmt: skip
    found = bench.latencies(list(bench.read_cel(cel)))
    at, ring, bridged = found[CALLER]
    assert at == 100.0
    assert ring == pytest.approx(0.012)
    assert bridged == pytest.approx(0.031)
    assert found[OTHER_CALLER] == (100.5, None, None)


def test_an_agent_bridged_without_any_caller_is_counted(tmp_path: Path) -> None:
    cel = tmp_path / "cel.json"
    lonely = "Local/100001@bench-agent-00000009;1"
    cel.write_text("\n".join([
        _line("APP_START", 100.0, CALLER, app="Stasis"),
        _line("BRIDGE_ENTER", 100.030, CALLER, bridge="mix-1"),
        _line("BRIDGE_ENTER", 100.031, AGENT, bridge="mix-1"),
        _line("BRIDGE_ENTER", 100.040, OTHER_CALLER, bridge="hold-2"),  # waiting: no agent
        _line("BRIDGE_ENTER", 100.050, lonely, bridge="mix-2"),  # its caller never came
    ]) + "\n")  # fmt: skip
    assert bench.lonely_agents(list(bench.read_cel(cel))) == 1


@pytest.mark.asterisk
def test_both_sides_serve_every_caller_on_the_real_asterisk() -> None:
    if find_binary() is None:
        pytest.skip("no Asterisk binary: set CALLCENTER_ASTERISK or install Asterisk")
    for side in ("app_queue", "engine"):
        row = asyncio.run(bench._row(side, rate=10.0, agents=4, seconds=0.5))
        assert (row.offered, row.joined, row.bridged) == (5, 5, 5), (side, row.problems)
        assert row.lonely == 0, side
        assert 0 < row.ring_p50_ms <= row.bridged_p50_ms, side
        assert row.asterisk_cpu_ms > 0, side
        assert (row.engine_cpu_ms is not None) == (side == "engine")


def test_each_row_is_printed_with_the_machine_s_speed_before_it() -> None:
    rows = [
        bench.Row("app_queue", 40.0, 200, offered=10, bridged=10, machine_ms=219.4),
        bench.Row("engine", 40.0, 200, offered=10, bridged=10, engine_cpu_ms=5.5,
                  engine_work_ms=5.4, bus_cpu_ms=0.2, bus_work_ms=0.1, machine_ms=347.0),
    ]  # fmt: skip
    figures = {"asterisk": "asterisk", "load_average": (0.5, 0.4, 0.3),
               "rows": [asdict(row) for row in rows], "reference": {}}  # fmt: skip
    table = bench.describe(figures).splitlines()
    assert table[2].split()[-1] == "machine"
    assert [line.split()[-1] for line in table[3:5]] == ["219", "347"]
    assert bench.machine_ms() > 0
