"""The sample configuration shipped in queues/ loads, and says what the operations plan asks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from callcenter.config import Config, is_open, load_config, verify_pin
from callcenter.core.spec import Target, TargetKind

SAMPLES = Path(__file__).resolve().parents[2] / "queues"
BEIJING = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(SAMPLES)


def test_samples_convert_to_the_expected_routing_spec(config: Config) -> None:
    spec = config.routing_spec()
    assert set(spec.queues) == {
        "sales", "support", "authenticity", "complaints", "vip",
        "billing", "faults", "new-service", "service-desk",
    }  # fmt: skip
    assert set(spec.agents) == {str(agent_id) for agent_id in range(1001, 1025)}
    assert spec.auto_pause_reason == "ring-no-answer"
    assert config.summary() == "9 queues, 24 agents, 6 IVR menus, 8 numbers"


def test_demo_agent_1001_serves_hotline_sales_and_support(config: Config) -> None:
    spec = config.routing_spec()
    agent = spec.agents["1001"]
    assert agent.endpoint == "PJSIP/1001"
    assert [m.queue for m in agent.queues] == ["sales", "support"]
    assert "1001" in {m.agent for m in spec.queues["sales"].members}
    assert "1001" in {m.agent for m in spec.queues["support"].members}


def test_sample_pins_are_hashes_of_the_agent_ids(config: Config) -> None:
    agent = config.agents["1001"]
    assert agent.pin is not None
    assert agent.pin.startswith("scrypt$")
    assert verify_pin(agent.pin, "1001")
    assert all(a.pin is not None and a.pin.startswith("scrypt$") for a in config.agents.values())


def test_some_agents_serve_both_operations(config: Config) -> None:
    hotline = {"sales", "support", "authenticity", "complaints", "vip"}
    both = [
        agent_id
        for agent_id, agent in config.agents.items()
        if {q.queue for q in agent.queues} & hotline and {q.queue for q in agent.queues} - hotline
    ]
    assert both == ["1009", "1010", "1011", "1012"]


def test_every_advertising_number_lands_on_the_main_menu_with_its_own_campaign(
    config: Config,
) -> None:
    vip_line = "4008201888"
    advertising = {n: e for n, e in config.numbers.items() if n.startswith("400") and n != vip_line}
    assert {e.target for e in advertising.values()} == {Target(TargetKind.IVR, "hotline-main")}
    campaigns = [e.campaign for e in advertising.values()]
    assert len(set(campaigns)) == len(campaigns) == 5


def test_main_menu_offers_chinese_and_english(config: Config) -> None:
    choice = config.ivr["hotline-main"].language
    assert choice is not None
    assert choice.keys == {"1": "zh", "2": "en"}
    assert choice.default == "zh"


def test_utility_outage_notice_is_off_until_switched_on(config: Config) -> None:
    notice = config.announcements["utility-outage"]
    during = dt.datetime(2026, 7, 1, 12, 0, tzinfo=BEIJING)
    assert not notice.playing_at(during)
    switched_on = notice.model_copy(update={"active": True})
    assert switched_on.playing_at(during)
    assert not switched_on.playing_at(during + dt.timedelta(hours=9))
    utility_numbers = [config.numbers["02160001000"], config.numbers["02160001100"]]
    assert {n.announcement for n in utility_numbers} == {"utility-outage"}


def test_fault_line_is_open_around_the_clock(config: Config) -> None:
    assert config.numbers["02160001100"].hours is None
    assert config.numbers["02160001000"].closed == Target(TargetKind.IVR, "utility-faults")


@pytest.mark.parametrize(
    ("moment", "hotline_open", "office_open"),
    [
        ("2026-03-02 09:00", True, True),  # an ordinary Monday
        ("2026-03-02 12:30", True, False),  # the office's lunch break
        ("2026-03-02 20:30", True, False),  # the hotline's evening hours
        ("2026-02-16 12:00", False, False),  # Spring Festival eve: closed
        ("2026-02-19 12:00", True, False),  # hotline festival duty hours
        ("2026-02-19 17:00", False, False),  # ... which end at 16:00
        ("2026-02-14 10:00", True, True),  # a Saturday worked in exchange (调休)
        ("2026-10-01 12:00", False, False),  # National Day
    ],
)
def test_business_hours_and_2026_holidays(
    config: Config, moment: str, hotline_open: bool, office_open: bool
) -> None:
    at = dt.datetime.fromisoformat(moment).replace(tzinfo=BEIJING)
    assert is_open(config.hours["hotline"], config.holidays, at) is hotline_open
    assert is_open(config.hours["utility-office"], config.holidays, at) is office_open
