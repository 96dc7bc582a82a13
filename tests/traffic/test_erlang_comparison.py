"""`callcenter simulate` on the Erlang C model's center agrees with Erlang C.

The center: one queue, 5 agents, Poisson arrivals at 180 calls per hour, exponential talk
times of mean 60 s (3 erlangs, occupancy 60%), no wrap-up, no ring delay, no missed
offers, callers who never give up: the M/M/5 queue Erlang C describes, played through the
real routing core.

The tolerance is a confidence interval, not a guess. The run lasts 220 simulated hours
(about 40,000 calls); each 10-hour report interval is one batch (batch means). Waits in
this queue forget the past within a few dozen calls (its relaxation time is about
A/(√N − √A)² ≈ 12 calls), so batches of about 1,800 calls are nearly independent and the
spread of the batch figures gives the standard error of the whole-run figures. The first
batch starts with an empty center and is left out (warm-up). The simulation must land
within 4 standard errors of the formula (a correct model fails this about once in 1,000
seeds; this seed is fixed), and the standard error must be small enough for the check to
mean something: under 8% of the ASA and 1.5 points of service level.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.traffic import erlang
from tests.traffic.conftest import WriteScenario, single_queue_config

AGENTS, PER_HOUR, HANDLE, THRESHOLD = 5, 180.0, 60.0, 20.0


def test_service_level_and_speed_of_answer_match_erlang_c(
    tmp_path: Path, write_scenario: WriteScenario, capsys: pytest.CaptureFixture[str]
) -> None:
    single_queue_config(tmp_path / "center", AGENTS)
    scenario = write_scenario(f"""\
        config: center
        seed: 7
        day: {{start: "00:00", hours: 220, interval: 600}}
        arrivals:
          - {{queue: q, per_hour: {PER_HOUR}}}
        agents:
          talk_time: {{exponential: {HANDLE}}}
          answer_delay: {{fixed: 0}}
        """)  # fmt: skip
    assert main(["simulate", str(scenario), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)["queues"]["q"]
    batches = figures["intervals"][1:]  # the first starts empty: warm-up
    assert len(batches) == 21
    assert all(b["abandoned"] == 0 and b["answered"] == b["offered"] for b in batches)

    rate = PER_HOUR / 3600
    expected_sl = erlang.service_level(AGENTS, rate, HANDLE, THRESHOLD)
    expected_asa = erlang.average_speed_of_answer(AGENTS, rate, HANDLE)
    sl, sl_error = _mean_and_error([b["service_level"] for b in batches])
    asa, asa_error = _mean_and_error([b["asa"] for b in batches])
    print(f"SL {sl:.4f} ± {sl_error:.4f} (Erlang C {expected_sl:.4f}); "
          f"ASA {asa:.2f} ± {asa_error:.2f} s (Erlang C {expected_asa:.2f} s)")  # fmt: skip

    assert sl_error < 0.015
    assert asa_error < 0.08 * expected_asa
    assert abs(sl - expected_sl) < 4 * sl_error
    assert abs(asa - expected_asa) < 4 * asa_error
    occupancy = statistics.fmean(b["occupancy"] for b in batches)
    assert occupancy == pytest.approx(PER_HOUR / 3600 * HANDLE / AGENTS, abs=0.03)


def _mean_and_error(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) / len(values) ** 0.5
