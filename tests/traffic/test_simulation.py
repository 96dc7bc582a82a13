"""The simulated day: reproducible, staffed as planned, and what-if runs meet the same callers."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.simulate import prepare, render_json
from callcenter.traffic.figures import Stay
from tests.traffic.conftest import HOTLINE, WriteScenario, single_queue_config

HOUR = 3600.0


def answered(stays: list[Stay]) -> dict[tuple[str, str], Stay]:
    return {(s.call, s.queue): s for s in stays if s.outcome == "answered" and s.talk is not None}


def test_same_file_and_seed_give_the_same_figures() -> None:
    first = prepare(str(HOTLINE))
    first.simulation.run()
    again = prepare(str(HOTLINE))
    again.simulation.run()
    assert render_json(first) == render_json(again)
    other = prepare(str(HOTLINE), seed=2)
    other.simulation.run()
    assert render_json(other)["queues"] != render_json(first)["queues"]


def test_a_what_if_run_meets_the_same_callers_with_the_same_needs() -> None:
    base = prepare(str(HOTLINE))
    base.simulation.run()
    more = prepare(str(HOTLINE), staff={"sales": 10, "complaints": 6})
    more.simulation.run()
    assert next(base.simulation.calls) == next(more.simulation.calls)  # as many callers
    # Each caller reaches the first queue at the same moment (same menu choices and times) ...
    firsts = {
        (s.call, s.queue): s.entered for s in base.simulation.recorder.stays if "-" not in s.call
    }
    again = {
        (s.call, s.queue): s.entered for s in more.simulation.recorder.stays if "-" not in s.call
    }
    assert firsts == again
    # ... and a caller answered in both runs talks just as long.
    both = answered(base.simulation.recorder.stays).keys() & answered(
        more.simulation.recorder.stays
    )
    assert len(both) > 200
    for key in both:
        talk = answered(more.simulation.recorder.stays)[key].talk
        assert answered(base.simulation.recorder.stays)[key].talk == pytest.approx(talk)
    # More agents: the same callers are served better.
    before, after = render_json(base)["queues"], render_json(more)["queues"]
    for queue in ("sales", "complaints"):
        assert after[queue]["total"]["service_level"] > before[queue]["total"]["service_level"]
        assert after[queue]["total"]["abandoned"] <= before[queue]["total"]["abandoned"]
    assert render_json(more)["staffing"] == [
        "sales: 6 -> 10 agents (copies of 1001: 1001x1, 1001x2, 1001x3, 1001x4)",
        "complaints: 4 -> 6 agents (copies of 1005: 1005x1, 1005x2)",
    ]


def test_fewer_agents_leave_the_highest_ids_at_home() -> None:
    run = prepare(str(HOTLINE), staff={"sales": 3})
    run.simulation.run()
    assert run.plan.changes == ("sales: 6 -> 3 agents (1004, 1007, 1010 not working)",)
    agents = {stay.agent for stay in run.simulation.recorder.stays if stay.agent}
    assert agents.isdisjoint({"1004", "1007", "1010"})
    assert {"1001", "1002", "1003"} <= agents


def test_agents_work_their_shifts_and_take_their_pauses() -> None:
    run = prepare(str(HOTLINE))
    recorder = run.simulation.run()
    day = recorder.intervals  # 08:00 to 12:00 in 8 half hours
    assert day == 8

    def staffed(agent: str, first: int, last: int) -> float:
        return sum(recorder.staffed(agent).get(i, (0.0, 0.0))[0] for i in range(first, last + 1))

    half_hour = 1800.0
    assert staffed("1010", 0, 3) == 0  # shift from 10:00
    assert staffed("1010", 4, 7) == pytest.approx(4 * half_hour)
    assert staffed("1006", 0, 0) == 0  # from 08:30
    assert staffed("1006", 1, 1) == pytest.approx(half_hour)
    assert staffed("1005", 0, 7) == pytest.approx(8 * half_hour)  # all morning, no pause
    for agent in ("1001", "1003"):  # 15-minute break asked for at 10:00, after the call
        assert staffed(agent, 4, 6) <= 3 * half_hour - 900 + 1e-6
        assert staffed(agent, 4, 6) >= 3 * half_hour - 900 - half_hour  # the break, no more
    assert staffed("1024", 0, 7) == 0  # not on any shift of this scenario
    for stay in recorder.stays:
        if stay.agent in ("1010", "1012") and stay.answered is not None:
            assert stay.answered >= run.simulation.midnight + 10 * HOUR


@pytest.mark.parametrize(("wrapup", "expected"), [(3.0, 3.0), (30.0, 10.0)])
def test_wrapup_ends_when_the_agent_says_at_most_the_configured_time(
    tmp_path: Path, write_scenario: WriteScenario, wrapup: float, expected: float
) -> None:
    single_queue_config(tmp_path / "center", 3, wrapup=10)
    scenario = write_scenario(f"""\
        config: center
        day: {{start: "08:00", hours: 1}}
        arrivals: [{{queue: q, per_hour: 60}}]
        agents:
          talk_time: {{fixed: 50}}
          wrapup: {{fixed: {wrapup}}}
          answer_delay: {{fixed: 2}}
        """)  # fmt: skip
    run = prepare(str(scenario))
    recorder = run.simulation.run()
    handled = [s for s in recorder.stays if s.talk is not None]
    assert len(handled) > 40
    assert all(s.talk == pytest.approx(50) and s.wrapup == pytest.approx(expected) for s in handled)
    total = render_json(run)["queues"]["q"]["total"]
    assert total["aht"] == pytest.approx(50 + expected)


def test_callers_who_take_a_callback_are_called_back(
    tmp_path: Path, write_scenario: WriteScenario
) -> None:
    config = single_queue_config(tmp_path / "center", 1) / "center.yaml"
    text = config.read_text(encoding="utf-8")  # offer a callback after 30 s of waiting
    with_callback = text.replace("service_level: 20}", "service_level: 20, callback: {after: 30}}")
    config.write_text(with_callback, encoding="utf-8")
    scenario = write_scenario("""\
        config: center
        day: {start: "08:00", hours: 1}
        arrivals: [{queue: q, per_hour: 40}]
        callers: {callback_acceptance: 1}
        agents: {talk_time: {fixed: 120}, answer_delay: {fixed: 2}}
        """)
    run = prepare(str(scenario))
    recorder = run.simulation.run()
    assert run.simulation.router.stats("q").callbacks > 5
    called_back = [s for s in recorder.stays if s.wait is not None and s.wait > 30]
    assert called_back
    assert all(s.outcome == "answered" for s in recorder.stays)  # nobody left waiting


def test_agents_of_an_accept_mode_queue_accept_then_pick_up(
    tmp_path: Path, write_scenario: WriteScenario
) -> None:
    """``accept: true``: the simulated agent accepts the offer after the answer delay and
    picks up the phone that then rings: every call is answered, each after the delay."""
    config = single_queue_config(tmp_path / "center", 3) / "center.yaml"
    config.write_text(config.read_text().replace("retry: 0,", "retry: 0, accept: true,"))
    scenario = write_scenario("""\
        config: center
        day: {start: "08:00", hours: 1}
        arrivals: [{queue: q, per_hour: 60}]
        agents:
          talk_time: {fixed: 50}
          answer_delay: {fixed: 2}
        """)  # fmt: skip
    run = prepare(str(scenario))
    assert run.simulation.router.spec.queues["q"].accept
    recorder = run.simulation.run()
    handled = [s for s in recorder.stays if s.talk is not None]
    assert len(handled) > 40
    assert {s.outcome for s in recorder.stays} <= {"answered", "unfinished"}
    waits = [s.wait for s in handled if s.wait is not None]
    assert min(waits) == pytest.approx(2)  # accepted after the delay, picked up at once
