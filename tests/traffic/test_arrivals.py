"""Arrivals follow the scenario's time-of-day profile: exactly in expectation, and in a run
within the spread a Poisson process allows."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.traffic.arrivals import HOUR, arrival_times, expected_calls, rate_steps
from callcenter.traffic.scenario import Arrivals
from tests.traffic.conftest import WriteScenario, single_queue_config


def test_per_hour_steps_hold_until_the_next_time_and_repeat_daily() -> None:
    arrivals = Arrivals.model_validate(
        {"queue": "q", "per_hour": {"08:00": 60, "09:30": 240, "11:00": 0}}
    )
    rates = rate_steps(arrivals, 7 * HOUR, 26 * HOUR)  # 07:00 to 09:00 the next day
    assert expected_calls(rates, 7 * HOUR, 8 * HOUR) == 0  # before the first time: none
    assert expected_calls(rates, 8 * HOUR, 9.5 * HOUR) == pytest.approx(90)
    assert expected_calls(rates, 9.5 * HOUR, 11 * HOUR) == pytest.approx(360)
    assert expected_calls(rates, 11 * HOUR, 33 * HOUR) == pytest.approx(60)  # next day 08-09
    constant = Arrivals.model_validate({"queue": "q", "per_hour": 30})
    assert expected_calls(rate_steps(constant, 8 * HOUR, 4 * HOUR), 0, 48 * HOUR) == 120


def test_a_daily_volume_is_spread_by_the_shape() -> None:
    arrivals = Arrivals.model_validate(
        {"queue": "q", "daily": 500, "shape": {"08:00": 1, "10:00": 3, "11:00": 1}}
    )
    rates = rate_steps(arrivals, 8 * HOUR, 4 * HOUR)  # weighted hours: 2·1 + 1·3 + 1·1 = 6
    assert expected_calls(rates, 8 * HOUR, 12 * HOUR) == pytest.approx(500)
    assert expected_calls(rates, 10 * HOUR, 11 * HOUR) == pytest.approx(250)
    flat = Arrivals.model_validate({"queue": "q", "daily": 100})
    assert expected_calls(rate_steps(flat, 8 * HOUR, 5 * HOUR), 9 * HOUR, 10 * HOUR) == 20


def test_counts_per_step_are_poisson_with_the_profiles_means() -> None:
    """Over 200 days, each step's count is within 4 standard deviations (√mean) of its mean,
    and the counts in one-hour windows have the Poisson variance (dispersion index ≈ 1)."""
    arrivals = Arrivals.model_validate(
        {"queue": "q", "per_hour": {"08:00": 20, "09:00": 80, "10:00": 5, "11:00": 40}}
    )
    days = 200
    rates = rate_steps(arrivals, 8 * HOUR, days * 24 * HOUR - 8 * HOUR)
    moments = list(arrival_times(rates, random.Random(11)))
    assert moments == sorted(moments)
    by_hour = [0] * 24
    for moment in moments:
        by_hour[int(moment % (24 * HOUR) // HOUR)] += 1
    for hour, rate in ((8, 20), (9, 80), (10, 5), (11, 40)):
        mean = rate * days
        assert abs(by_hour[hour] - mean) < 4 * math.sqrt(mean), hour
    assert sum(by_hour[:8]) == 0  # nothing before the first time of the profile
    counts = dict.fromkeys(range(9, days * 24, 24), 0)  # 09:00-10:00 of every day
    for moment in moments:
        if int(moment // HOUR) in counts:
            counts[int(moment // HOUR)] += 1
    per_window = list(counts.values())
    average = sum(per_window) / len(per_window)
    variance = sum((c - average) ** 2 for c in per_window) / (len(per_window) - 1)
    assert 0.75 < variance / average < 1.3  # Poisson: variance = mean (± sampling, 200 windows)


def test_a_simulated_day_offers_what_the_profile_says(
    tmp_path: Path, write_scenario: WriteScenario, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end: the simulated queue's offered calls per interval match the profile
    (within 4 standard deviations: seed 5, say, draws a 1-in-3,000 count of 79 at 10:00)."""
    single_queue_config(tmp_path / "center", 40)
    scenario = write_scenario("""\
        config: center
        seed: 2
        day: {start: "08:00", end: "12:00", interval: 60}
        arrivals:
          - {queue: q, per_hour: {"08:00": 100, "09:00": 400, "10:00": 50, "11:00": 200}}
        agents: {talk_time: {exponential: 30}, answer_delay: {fixed: 1}}
        """)
    assert main(["simulate", str(scenario), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["queues"]["q"]["intervals"]
    assert [row["start"] for row in rows] == ["08:00", "09:00", "10:00", "11:00"]
    for row, mean in zip(rows, (100, 400, 50, 200), strict=True):
        assert abs(row["offered"] - mean) < 4 * math.sqrt(mean), row
