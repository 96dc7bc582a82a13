"""The traffic driver's pieces on their own: the dialplan's variables, phones that draw
how they answer, and the demo clock's choice of an open day."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pytest

from callcenter.config import Config, load_config
from callcenter.live_demo import demo_start
from callcenter.traffic.distributions import pick
from callcenter.traffic.scenario import check_against, load_scenario
from sim import Answer, NoAnswer, Policy, SimAsterisk, Unregistered
from sim.traffic import ScenarioPhones, dialplan_variables
from tests.demo.conftest import REPO


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(REPO / "queues")


def test_a_caller_carries_what_dnis_route_and_caller_lookup_leave(config: Config) -> None:
    found = dialplan_variables(config, "4008201002", vip=True)
    assert found == {
        "CC_DNIS": "4008201002", "CC_ENTRY": "ivr:hotline-main", "CC_CAMPAIGN": "cctv1-evening",
        "CC_LANG": "zh", "CC_VIP": "1", "CC_STATUS": "ok",
    }  # fmt: skip
    assert dialplan_variables(config, "999", vip=False) == {
        "CC_DNIS": "999",
        "CC_STATUS": "unknown",
        "CC_VIP": "0",
    }


def test_a_registered_phone_answers_as_each_draw_says() -> None:
    phones = ScenarioPhones()
    ast = SimAsterisk(endpoints=phones)
    ast.unregister("PJSIP/1002")  # configured, offline: exists, but cannot be rung
    assert phones.state("PJSIP/1002") == "offline"
    draws: Iterator[Policy] = iter([Answer(after=1.5), NoAnswer()])
    phones.answers["PJSIP/1002"] = lambda: next(draws)
    assert isinstance(phones.policy("PJSIP/1002"), Unregistered)
    ast.register("PJSIP/1002", Answer())
    assert phones.state("PJSIP/1002") == "online"
    assert phones.policy("PJSIP/1002") == Answer(after=1.5)
    assert phones.policy("PJSIP/1002") == NoAnswer()
    assert phones.policy("PJSIP/1009") is None  # never configured: no such endpoint


def test_keys_are_drawn_with_their_shares() -> None:
    rng = random.Random(5)
    drawn = [pick(rng, {"1": 0.5, "2": 0.3}) for _ in range(10_000)]
    assert abs(drawn.count("1") / 10_000 - 0.5) < 0.02
    assert abs(drawn.count("2") / 10_000 - 0.3) < 0.02
    assert abs(drawn.count(None) / 10_000 - 0.2) < 0.02


def test_the_demo_clock_starts_on_a_day_the_hotline_is_open(config: Config) -> None:
    scenario, _ = load_scenario(REPO / "scenarios" / "demo.yaml")
    ordinary = dt.datetime(2026, 11, 27, 15, 30, tzinfo=dt.UTC).timestamp()  # a Friday
    assert (
        demo_start(scenario, config, ordinary)
        == dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC).timestamp()
    )
    # National Day: the hotline is closed on 1 October (cn-2026), so the day before.
    holiday = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC).timestamp()
    assert (
        demo_start(scenario, config, holiday)
        == dt.datetime(2026, 9, 30, 6, 0, tzinfo=dt.UTC).timestamp()
    )


def test_the_demo_scenario_fits_the_sample_configuration(config: Config) -> None:
    scenario, document = load_scenario(REPO / "scenarios" / "demo.yaml")
    assert check_against(scenario, document, config) == []
    staffed = {agent for shift in scenario.agents.shifts for agent in shift.agents}
    assert "1001" in staffed  # headless, agent 1001 works too
