"""Problems between entries: names that are used but never defined, things defined twice."""

from __future__ import annotations

from tests.config.conftest import WriteConfig, errors_of, only_error, where

AGENTS = """\
agents:
  1001: {name: A, endpoint: PJSIP/1001, queues: [sales]}
"""
QUEUES = """\
queues:
  sales: {members: [1001]}
"""


def test_ivr_option_to_an_unknown_queue(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": QUEUES,
        "agents.yaml": AGENTS,
        "ivr.yaml": """\
            ivr:
              main:
                prompts: [welcome]
                options:
                  1: queue:sales
                  2: queue:salse
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/ivr.yaml", 6, 10, "ivr.main.options.2")
    assert error.message == (
        '"queue:salse" is not allowed: there is no queue "salse"; did you mean "sales"?'
    )


def test_number_to_an_unknown_menu_calendar_and_announcement(write_config: WriteConfig) -> None:
    path = write_config({
        "numbers.yaml": """\
            numbers:
              "4008201001":
                target: ivr:hotline-main
                hours: hotline
                closed: hangup
                announcement: outage
            """,
    })  # fmt: skip
    errors = errors_of(path)
    assert [(where(e), e.message) for e in errors] == [
        (("conf/numbers.yaml", 3, 13, "numbers.4008201001.target"),
         '"ivr:hotline-main" is not allowed: there is no IVR menu "hotline-main"; '
         "define it under ivr:"),
        (("conf/numbers.yaml", 4, 12, "numbers.4008201001.hours"),
         '"hotline" is not allowed: there is no hours calendar "hotline"; define it under hours:'),
        (("conf/numbers.yaml", 6, 19, "numbers.4008201001.announcement"),
         '"outage" is not allowed: there is no announcement "outage"; '
         "define it under announcements:"),
    ]  # fmt: skip


def test_queue_member_that_is_not_an_agent(write_config: WriteConfig) -> None:
    path = write_config({
        "agents.yaml": AGENTS,
        "queues.yaml": """\
            queues:
              sales:
                members:
                  - 1001
                  - {agent: 1002, penalty: 1}
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 5, 17, "queues.sales.members[1].agent")
    assert error.message == '1002 is not allowed: there is no agent "1002"; did you mean "1001"?'


def test_agent_in_an_unknown_queue_with_an_undeclared_skill(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": QUEUES,
        "agents.yaml": """\
            agents:
              1001:
                name: A
                endpoint: PJSIP/1001
                skills: {sales: 3, cooking: 2}
                queues: [sales, billing]
            """,
    })  # fmt: skip
    errors = errors_of(path)
    assert [(where(e), e.message) for e in errors] == [
        (("conf/agents.yaml", 5, 24, "agents.1001.skills.cooking"),
         '"cooking" is not allowed: there is no skill "cooking"; define it under skills:'),
        (("conf/agents.yaml", 6, 21, "agents.1001.queues[1]"),
         '"billing" is not allowed: there is no queue "billing"; define it under queues:'),
    ]  # fmt: skip


def test_hours_naming_an_unknown_holiday_calendar(write_config: WriteConfig) -> None:
    path = write_config({
        "hours.yaml": """\
            hours:
              office:
                timezone: Asia/Shanghai
                weekly: {mon-fri: 09:00-18:00}
                holidays: [cn-2026]
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/hours.yaml", 5, 16, "hours.office.holidays[0]")
    assert error.message == (
        '"cn-2026" is not allowed: there is no holiday calendar "cn-2026"; '
        "define it under holidays:"
    )


def test_reference_to_a_broken_queue_is_not_also_reported_missing(
    write_config: WriteConfig,
) -> None:
    path = write_config({
        "agents.yaml": AGENTS,
        "queues.yaml": "queues:\n  sales: {ring_timeout: never}\n",
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 2, 25, "queues.sales.ring_timeout")


def test_two_agents_on_one_phone(write_config: WriteConfig) -> None:
    path = write_config({
        "agents.yaml": """\
            agents:
              1001: {name: A, endpoint: PJSIP/1001}
              1002: {name: B, endpoint: PJSIP/1001}
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/agents.yaml", 3, 29, "agents.1002.endpoint")
    assert error.message == (
        '"PJSIP/1001" is not allowed: agent 1001 has the same endpoint (at conf/agents.yaml:2:3)'
    )


def test_queue_wrap_up_code_that_repeats_a_common_one(write_config: WriteConfig) -> None:
    path = write_config({
        "dispositions.yaml": "dispositions:\n  resolved: 已解决 Resolved\n",
        "queues.yaml": """\
            queues:
              sales:
                dispositions: {order-placed: 已下单, resolved: 解决}
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 3, 39, "queues.sales.dispositions.resolved")
    assert error.message == (
        "disposition 'resolved' is defined twice: here and at conf/dispositions.yaml:2:3"
    )


def test_agents_need_a_pause_reason_for_missed_calls(write_config: WriteConfig) -> None:
    path = write_config({
        "common.yaml": """\
            skills: {sales: Sales}
            pause_reasons:
              break: {label: Break}
            """,
        "agents.yaml": AGENTS.replace("queues: [sales]", "ring_no_answer_limit: 2"),
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/common.yaml", 2, 1, "pause_reasons")
    assert error.message.startswith("no pause reason has on_ring_no_answer: true")


def test_several_errors_in_several_files_are_all_reported_in_file_order(
    write_config: WriteConfig,
) -> None:
    path = write_config({
        "a/queues.yaml": """\
            queues:
              sales:
                ring_timeout: -1
                overflow: ivr:nowhere
              support: {strategy: ringall, members: [1009]}
            """,
        "b/agents.yaml": """\
            agents:
              1001: {name: A, endpoint: PJSIP/1001, queues: [sales, support], pin: "1234"}
            """,
        "c/broken.yaml": "ivr: [\n",
    })  # fmt: skip
    assert [str(e).split(": ")[0:2] for e in errors_of(path)] == [
        ["conf/a/queues.yaml:3:19", "queues.sales.ring_timeout"],
        ["conf/a/queues.yaml:5:42", "queues.support.members[0]"],
        ["conf/b/agents.yaml:2:72", "agents.1001.pin"],
        ["conf/c/broken.yaml:2:1", "YAML syntax error"],
    ]
