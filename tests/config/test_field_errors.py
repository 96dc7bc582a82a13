"""Problems inside one entry: each names the exact place, the bad value and what is allowed."""

from __future__ import annotations

from callcenter.config import hash_pin
from tests.config.conftest import WriteConfig, errors_of, only_error, where


def test_out_of_range_value_says_what_is_allowed(write_config: WriteConfig) -> None:
    path = write_config({
        "hotline/queues.yaml": """\
            queues:
              sales:
                strategy: ringall
                ring_timeout: -3
            """,
    })  # fmt: skip
    error = only_error(path)
    assert str(error) == (
        "conf/hotline/queues.yaml:4:19: queues.sales.ring_timeout: "
        "-3 is not allowed: must be a number of seconds greater than 0"
    )
    assert error.value == -3


def test_wrong_type_is_reported_at_the_value(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": """\
            queues:
              sales:
                record: yes
                max_length: 2.5
            """,
    })  # fmt: skip
    errors = errors_of(path)
    assert [(where(e), e.message) for e in errors] == [
        (("conf/queues.yaml", 3, 13, "queues.sales.record"),
         '"yes" is not allowed: must be true or false'),
        (("conf/queues.yaml", 4, 17, "queues.sales.max_length"),
         "2.5 is not allowed: must be a whole number, 0 or more"),
    ]  # fmt: skip


def test_unknown_key_is_reported_at_the_key_with_a_suggestion(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": """\
            queues:
              sales:
                ring_timout: 15
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 3, 5, "queues.sales.ring_timout")
    assert error.message == "unknown key 'ring_timout': did you mean 'ring_timeout'?"


def test_unknown_key_in_a_nested_mapping_lists_the_allowed_keys(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": """\
            queues:
              sales:
                callback: {after: 60, button: 5}
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 3, 27, "queues.sales.callback.button")
    assert error.message == "unknown key 'button': allowed keys are after, key, ask_number"


def test_missing_key_points_at_the_mapping_that_lacks_it(write_config: WriteConfig) -> None:
    path = write_config({
        "agents.yaml": """\
            agents:
              1001:
                name: 张伟 Zhang Wei
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/agents.yaml", 2, 3, "agents.1001.endpoint")
    assert error.message.startswith("missing required key 'endpoint' (the phone to ring")


def test_value_outside_a_choice_lists_the_choices(write_config: WriteConfig) -> None:
    path = write_config({"queues.yaml": "queues:\n  sales: {strategy: round-robin}\n"})
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 2, 21, "queues.sales.strategy")
    assert error.message.startswith('"round-robin" is not allowed: must be one of: ringall, ')


def test_bad_endpoint_shows_the_expected_shape(write_config: WriteConfig) -> None:
    path = write_config({
        "agents.yaml": """\
            agents:
              1001:
                name: 张伟 Zhang Wei
                endpoint: PJSIP1001
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/agents.yaml", 4, 15, "agents.1001.endpoint")
    assert error.message == '"PJSIP1001" is not allowed: must be TECH/resource, e.g. PJSIP/1001'


def test_clear_text_pin_is_refused_without_repeating_it(write_config: WriteConfig) -> None:
    path = write_config({
        "agents.yaml": """\
            agents:
              1001:
                name: 张伟 Zhang Wei
                endpoint: PJSIP/1001
                pin: 739164
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/agents.yaml", 5, 10, "agents.1001.pin")
    assert "run `callcenter config hash-pin`" in error.message
    assert "739164" not in str(error)
    assert error.value is None


def test_pin_hash_is_accepted(write_config: WriteConfig) -> None:
    pin = hash_pin("739164")
    path = write_config({
        "agents.yaml": f"""\
            agents:
              1001: {{name: A, endpoint: PJSIP/1001, pin: {pin}, skills: {{sales: 6}}}}
            """,
    })  # fmt: skip
    error = only_error(path)  # the skill level, not the PIN
    assert error.path == "agents.1001.skills.sales"
    assert error.message == "6 is not allowed: must be a proficiency, 1 to 5"


def test_bad_target_syntax_names_the_kinds(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": """\
            queues:
              sales:
                max_wait: 60
                overflow: queue sales
                exit_key: 0
                exit_target: dialplan:selfservice,auth
            """,
    })  # fmt: skip
    errors = errors_of(path)
    assert [(where(e), e.message) for e in errors] == [
        (("conf/queues.yaml", 4, 15, "queues.sales.overflow"),
         '"queue sales" is not allowed: must be KIND:VALUE with KIND one of queue, ivr, agent, '
         "number, voicemail, dialplan, announcement, hangup, e.g. queue:sales"),
        (("conf/queues.yaml", 6, 18, "queues.sales.exit_target"),
         '"dialplan:selfservice,auth" is not allowed: must be dialplan:CONTEXT,EXTEN,PRIORITY, '
         "e.g. dialplan:selfservice,authenticity,1"),
    ]  # fmt: skip


def test_skill_steps_must_start_at_zero_and_increase(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": """\
            queues:
              sales:
                skill_steps:
                  - {after: 0, require: "sales >= 3"}
                  - {after: 30, require: "sales >= 2"}
                  - {after: 30, require: "sales >= 1"}
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 6, 17, "queues.sales.skill_steps[2].after")
    assert error.message == "30 is not allowed: must be greater than the previous step's (30)"


def test_exit_key_needs_an_exit_target(write_config: WriteConfig) -> None:
    path = write_config({"queues.yaml": 'queues:\n  sales:\n    exit_key: "#"\n'})
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 3, 15, "queues.sales.exit_key")
    assert error.message == '"#" is not allowed: must come with exit_target'


def test_bad_name_of_an_entry_is_reported_at_its_key(write_config: WriteConfig) -> None:
    path = write_config({"queues.yaml": "queues:\n  Sales Team: {}\n"})
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 2, 3, "queues.Sales Team")
    assert error.message.startswith('"Sales Team" is not allowed: must be a name of letters')


def test_bad_skill_name_in_an_agent_is_reported_at_the_key(write_config: WriteConfig) -> None:
    path = write_config({
        "agents.yaml": """\
            agents:
              1001:
                name: A
                endpoint: PJSIP/1001
                skills:
                  product-support: 3
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/agents.yaml", 6, 7, "agents.1001.skills.product-support")
    assert error.message.startswith('"product-support" is not allowed: must be a skill name')


def test_holiday_range_that_ends_before_it_starts(write_config: WriteConfig) -> None:
    path = write_config({
        "holidays.yaml": """\
            holidays:
              cn-2026:
                days:
                  - {name: 国庆节, from: 2026-10-07, to: 2026-10-01}
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/holidays.yaml", 4, 43, "holidays.cn-2026.days[0].to")
    assert error.message == "2026-10-01 is not allowed: must not be before from"


def test_every_bad_field_of_an_entry_is_reported(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": """\
            queues:
              sales:
                ring_timeout: 0
                wrapup: -1
                weight: 0
                service_level: fast
            """,
    })  # fmt: skip
    assert [e.line for e in errors_of(path)] == [3, 4, 5, 6]


def test_key_required_by_another_key_is_reported_missing(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": """\
            queues:
              sales:
                announcements:
                  position: true
            """,
        "holidays.yaml": """\
            holidays:
              cn-2026:
                days:
                  - {name: 国庆节, from: 2026-10-01}
            """,
    })  # fmt: skip
    errors = errors_of(path)
    assert [(where(e), e.message) for e in errors] == [
        (("conf/holidays.yaml", 4, 9, "holidays.cn-2026.days[0].to"),
         "missing key 'to': must be given with from"),
        (("conf/queues.yaml", 3, 5, "queues.sales.announcements.every"),
         "missing key 'every': must be given when position or expected_wait is on"),
    ]  # fmt: skip
