"""Scenario files are refused with every problem at its place: ``file:line:column: key: ...``."""

from __future__ import annotations

from pathlib import Path

from callcenter.config import ConfigErrors, load_config
from callcenter.traffic.distributions import Exponential, Fixed, Lognormal
from callcenter.traffic.scenario import check_against, config_path, load_scenario
from tests.traffic.conftest import HOTLINE, SAMPLES, WriteScenario


def errors_of(path: Path) -> list[str]:
    """What loading reports, then what checking against the configuration reports."""
    try:
        scenario, document = load_scenario(path)
    except ConfigErrors as exc:
        errors = exc.errors
    else:
        errors = check_against(scenario, document, load_config(config_path(scenario, path)))
    assert errors
    return [str(error).removeprefix(f"{path}:") for error in sorted(errors)]


def test_the_sample_scenario_is_sound() -> None:
    scenario, document = load_scenario(HOTLINE)
    assert check_against(scenario, document, load_config(config_path(scenario, HOTLINE))) == []
    assert scenario.agents.talk_time == Lognormal(200, 120)
    assert scenario.agents.talk_time_by_queue["authenticity"] == Exponential(90)
    assert scenario.ivr["hotline-support"].time == Fixed(10)
    assert scenario.arrivals[0].per_hour == (
        (8 * 3600.0, 30.0), (9 * 3600.0, 45.0), (10 * 3600.0, 50.0), (11 * 3600.0, 40.0)
    )  # fmt: skip


def test_values_keys_and_missing_keys(write_scenario: WriteScenario) -> None:
    path = write_scenario(f"""\
        config: {SAMPLES}
        day: {{start: "08:00", end: "12:00", interval: 0}}
        arrivals:
          - {{number: "4008201001", per_hour: {{"08:00": 60, "9:70": 30}}}}
          - {{queue: sales, daily: 100, per_hour: 4}}
        callers:
          patience: {{lognormal: {{mean: 100, sd: -1}}}}
          flagz: {{vip: 0.1}}
        agents:
          talk_time: {{gamma: 3}}
          answer_delay: {{exponential: 0}}
          no_answer: 1.5
          shifts:
            - {{agents: [1001], start: "08:00"}}
        """)  # fmt: skip
    assert errors_of(path) == [
        "2:47: day.interval: 0 is not allowed: must be a number of minutes greater than 0",
        '4:52: arrivals[0].per_hour.9:70: "9:70" is not allowed: must be a time of day like '
        "08:30 (00:00 to 24:00)",
        "5:42: arrivals[1].per_hour: 4 is not allowed: must come alone: give either per_hour or "
        "daily",
        "7:41: callers.patience.lognormal.sd: -1 is not allowed: must be a number of seconds "
        "greater than 0",
        "8:3: callers.flagz: unknown key 'flagz': did you mean 'flags'?",
        "10:14: agents.talk_time: a mapping is not allowed: must be one of {exponential: MEAN}, "
        "{lognormal: {mean: M, sd: S}} or {fixed: SECONDS}",
        "11:31: agents.answer_delay.exponential: 0 is not allowed: must be a number of seconds "
        "greater than 0",
        "12:14: agents.no_answer: 1.5 is not allowed: must be a share from 0 to 1, e.g. 0.25",
        "14:7: agents.shifts[0].end: missing required key 'end' (log out (after the call in "
        "progress), e.g. 12:00; before start: the next day)",
    ]


def test_names_the_configuration_does_not_have(write_scenario: WriteScenario) -> None:
    path = write_scenario(f"""\
        config: {SAMPLES}
        day: {{start: "08:00", end: "09:00"}}
        arrivals:
          - {{number: "4008209999", per_hour: 10}}
          - {{number: "4008201001", per_hour: 10}}
          - {{queue: nowhere, per_hour: 10}}
        ivr:
          hotline-main:
            choices: {{1: 0.5, 7: 0.2}}
        agents:
          talk_time: {{exponential: 100}}
          shifts:
            - {{agents: [1001, 9999], start: "08:00", end: "09:00"}}
          pauses:
            - {{agents: [1001], at: "08:30", minutes: 5, reason: nap}}
        """)  # fmt: skip
    errors = errors_of(path)
    assert errors[0].startswith("4:14: arrivals[0].number: no dialed number 4008209999 in the "
                                "configuration (it has: 02160001000, ")  # fmt: skip
    assert errors[1].startswith("6:13: arrivals[2].queue: no queue nowhere in the configuration")
    assert errors[2] == ("7:1: ivr: callers reach the IVR menu hotline-authenticity: say which "
                         "keys they press under ivr.hotline-authenticity.choices")  # fmt: skip
    assert errors[3].startswith("7:1: ivr: callers reach the IVR menu hotline-support")
    assert errors[4] == ("9:23: ivr.hotline-main.choices.7: no option of menu hotline-main for "
                         "the key 7 in the configuration (it has: 0, 1, 2, 3, 4)")  # fmt: skip
    assert errors[5].startswith("13:23: agents.shifts[0].agents[1]: no agent 9999")
    assert errors[6].startswith("15:57: agents.pauses[0].reason: no pause reason nap")
    assert len(errors) == 7


def test_shares_and_either_or_keys(write_scenario: WriteScenario) -> None:
    path = write_scenario(f"""\
        config: {SAMPLES}
        day: {{start: "12:00", end: "08:00"}}
        arrivals:
          - {{queue: sales, number: "4008201001", per_hour: 5}}
          - {{number: "4008201888", per_hour: 5, numbers: ["4008201001"]}}
          - {{queue: sales, per_hour: 5, shape: {{"08:00": 1}}}}
        callers:
          languages: {{zh: 0.5, en: 0.4}}
        ivr:
          hotline-main: {{choices: {{1: 0.8, 2: 0.3}}}}
        agents: {{talk_time: {{fixed: 60}}}}
        """)  # fmt: skip
    assert errors_of(path) == [
        '2:28: day.end: "08:00" is not allowed: must be after start',
        '4:28: arrivals[0].number: "4008201001" is not allowed: must come alone: give either '
        "number or queue",
        "5:50: arrivals[1].numbers: a list is not allowed: must come with queue: a dialed "
        "number's calls are its own",
        "6:40: arrivals[2].shape: a mapping is not allowed: must come with daily: per_hour is its "
        "own shape",
        "8:14: callers.languages: a mapping is not allowed: must be shares adding up to 1",
        "10:27: ivr.hotline-main.choices: a mapping is not allowed: must be shares adding up to 1 "
        "at most",
    ]


def test_yaml_problems_are_reported_like_the_configurations(write_scenario: WriteScenario) -> None:
    path = write_scenario("""\
        day: {start: "08:00", end: "09:00"}
        day: {start: "08:00", end: "10:00"}
        """)
    assert errors_of(path) == [f"2:1: day: 'day' is defined twice: here and at {path}:1:1"]
    syntax = write_scenario("day: [unclosed\n")
    assert errors_of(syntax)[0].startswith("2:1: YAML syntax error")
    text = write_scenario("- just a list\n")
    assert errors_of(text) == ["1:1: must be a mapping with day, arrivals, agents"]
