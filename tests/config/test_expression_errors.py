"""Expressions: the reported column is the character inside the YAML value that is wrong."""

from __future__ import annotations

from tests.config.conftest import WriteConfig, errors_of, only_error, where


def queue_with(line: str) -> dict[str, str]:
    """A queues file whose line 3 is ``line`` (under queues: sales:)."""
    return {"queues.yaml": f"queues:\n  sales:\n{line}\n"}


def test_syntax_error_points_inside_the_expression(write_config: WriteConfig) -> None:
    line = '    members_by_skill: "sales >= 3 and (billing"'
    error = only_error(write_config(queue_with(line)))
    assert where(error) == ("conf/queues.yaml", 3, 39, "queues.sales.members_by_skill")  # the (
    assert error.message == (
        "\"sales >= 3 and (billing\" is not allowed: does not parse: '(' was never closed"
    )


def test_forbidden_construct_column_counts_characters_not_bytes(write_config: WriteConfig) -> None:
    # Each Chinese character is three bytes in UTF-8, but one column in the editor.
    line = "    members_by_skill: caller.lang == '中文' and open()"
    error = only_error(write_config(queue_with(line)))
    assert where(error) == ("conf/queues.yaml", 3, 47, "queues.sales.members_by_skill")  # open
    assert error.message.endswith("is not allowed: call is not allowed")


def test_undeclared_skill_points_at_its_name(write_config: WriteConfig) -> None:
    line = "    members_by_skill: '  sales >= 1 or cooking >= 2'"
    error = only_error(write_config(queue_with(line)))
    assert where(error) == ("conf/queues.yaml", 3, 40, "queues.sales.members_by_skill")  # cooking
    assert error.message == (
        '"  sales >= 1 or cooking >= 2" is not allowed: there is no skill "cooking"; '
        "define it under skills:"
    )


def test_undeclared_skill_in_a_skill_step_suggests_a_close_name(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": """\
            queues:
              sales:
                skill_steps:
                  - {after: 0, require: "biling >= 3"}
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 4, 30, "queues.sales.skill_steps[0].require")
    assert error.message.endswith('there is no skill "biling"; did you mean "billing"?')


def test_priority_rule_may_only_use_caller_attributes(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": """\
            queues:
              sales:
                priority_rules:
                  - when: caller.vip == true and sales >= 3
                    priority: 10
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 4, 38, "queues.sales.priority_rules[0].when")
    assert error.message.endswith(
        "sales is an agent skill; caller rules may only use caller.<attribute>"
    )


def test_expression_in_a_block_scalar_points_at_its_start(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": """\
            queues:
              sales:
                members_by_skill: >-
                  sales >= 1 and
                  cooking >= 1
            """,
    })  # fmt: skip
    error = only_error(path)
    # Folded text cannot be mapped column by column: the value's start is the next best.
    assert where(error) == ("conf/queues.yaml", 3, 23, "queues.sales.members_by_skill")


def test_expression_that_is_not_text(write_config: WriteConfig) -> None:
    errors = errors_of(write_config(queue_with("    members_by_skill: 3")))
    assert [e.message for e in errors] == [
        '3 is not allowed: must be an expression in quotes, e.g. "billing >= 3"'
    ]
