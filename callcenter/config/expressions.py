"""Skill requirements and caller rules in the files: compiled by the core, placed for errors.

The core's `compile_expression` says what is wrong and at which column of the *stripped*
expression. Admins need the column in the file, so these helpers turn that into an offset
into the value as written (leading spaces included), which the loader adds to the value's
position.
"""

from __future__ import annotations

import ast

from callcenter.core.expression import Expression, ExpressionError, compile_expression


class ExpressionProblem(ValueError):  # noqa: N818 - a finding to report, not a bug
    """An expression refused, with the character offset of the problem in the value."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def _leading_spaces(source: str) -> int:
    return len(source) - len(source.lstrip())


def _char_offset(text: str, byte_offset: int) -> int:
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def compile_checked(source: str) -> Expression:
    """Compile ``source``; on failure raise ExpressionProblem with an offset into ``source``."""
    try:
        return compile_expression(source)
    except ExpressionError as exc:
        message = str(exc)
        column = exc.column
        # The core reports Python's SyntaxError offsets (characters) for parse errors and
        # ast col_offset (UTF-8 bytes) for refused nodes; a Chinese string before the
        # problem makes the two differ.
        if not message.startswith("does not parse"):
            column = _char_offset(source.strip(), column)
        raise ExpressionProblem(message, _leading_spaces(source) + column) from exc


def name_offsets(source: str) -> dict[str, int]:
    """Each bare name (skill) in a valid expression -> offset of its first use in ``source``."""
    text = source.strip()
    offsets: dict[str, int] = {}
    if not text:
        return offsets
    for node in ast.walk(ast.parse(text, mode="eval")):
        if isinstance(node, ast.Name):
            at = _leading_spaces(source) + _char_offset(text, node.col_offset)
            offsets[node.id] = min(at, offsets.get(node.id, at))
    return offsets


def check_caller_rule(source: str) -> Expression:
    """A rule about the caller only: agent skills mean nothing before an agent is chosen."""
    expression = compile_checked(source)
    if expression.skills:
        offsets = name_offsets(source)
        name = min(expression.skills, key=lambda skill: offsets.get(skill, 0))
        raise ExpressionProblem(
            f"{name} is an agent skill; caller rules may only use caller.<attribute>",
            offsets.get(name, 0),
        )
    return expression
