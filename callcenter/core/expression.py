"""Skill requirements and caller rules as small, safe expressions.

Admins write requirements such as ``product_a >= 3 and caller.lang == "zh"``:

* a bare name is an agent skill and stands for the agent's proficiency (1-5),
  or 0 when the agent does not have the skill;
* ``caller.<attr>`` is an attribute of the waiting caller (set by AGI lookups,
  the IVR or the customer store); a missing attribute is ``None``;
* ``and``, ``or``, ``not``, comparisons (``== != < <= > >= in not in``),
  parentheses, numbers, strings, ``true``/``false`` and lists of constants.

Nothing else parses: no calls, no subscripts, no other attributes, so an
expression cannot reach anything but the two mappings it is given. A comparison
between incompatible values (``caller.age >= 3`` when age is missing) is false.

The expression is translated once into a Python lambda over the two mappings:
evaluation is a plain function call, which keeps routing decisions fast.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

Value: TypeAlias = str | int | float | bool | None
Skills: TypeAlias = Mapping[str, int]
Attributes: TypeAlias = Mapping[str, Value]

_CONSTANT_NAMES: dict[str, Value] = {"true": True, "false": False, "True": True, "False": False}
_COMPARATORS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)


class ExpressionError(ValueError):
    """An expression that does not parse or uses something not allowed."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.column = column  # 0-based offset into the expression's source


@dataclass(frozen=True, slots=True)
class Expression:
    source: str
    skills: frozenset[str]  # skill names referenced (for cross-reference checks)
    caller_attributes: frozenset[str]
    _test: Callable[[Skills, Attributes], bool] = field(repr=False, compare=False)

    def __call__(self, skills: Skills, caller: Attributes) -> bool:
        try:
            return self._test(skills, caller)
        except TypeError:
            return False


def _always(_skills: Skills, _caller: Attributes) -> bool:
    return True


TRUE = Expression("", frozenset(), frozenset(), _always)


class _Translator(ast.NodeTransformer):
    """Checks every node against the grammar above and rewrites names into lookups."""

    def __init__(self) -> None:
        self.skills: set[str] = set()
        self.caller_attributes: set[str] = set()

    def generic_visit(self, node: ast.AST) -> ast.AST:
        allowed = (
            ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
            ast.Compare, *_COMPARATORS, ast.Load, ast.List, ast.Tuple, ast.Set,
        )  # fmt: skip
        if not isinstance(node, allowed):
            raise _refuse(node, f"{type(node).__name__.lower()} is not allowed")
        return super().generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if not isinstance(node.value, str | int | float | bool) and node.value is not None:
            raise _refuse(node, f"constant {node.value!r} is not allowed")
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        if isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant):
            raise _refuse(node, "minus applies to numbers only")
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in _CONSTANT_NAMES:
            return ast.copy_location(ast.Constant(_CONSTANT_NAMES[node.id]), node)
        if node.id == "caller":
            raise _refuse(node, "write caller.<attribute>, e.g. caller.lang")
        self.skills.add(node.id)
        return _lookup(node, "s", node.id, ast.Constant(0))

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if not (isinstance(node.value, ast.Name) and node.value.id == "caller"):
            raise _refuse(node, "only caller.<attribute> may use a dot")
        self.caller_attributes.add(node.attr)
        return _lookup(node, "c", node.attr, ast.Constant(None))


def _lookup(node: ast.AST, mapping: str, key: str, default: ast.expr) -> ast.expr:
    call = ast.Call(
        func=ast.Attribute(value=ast.Name(mapping, ast.Load()), attr="get", ctx=ast.Load()),
        args=[ast.Constant(key), default],
        keywords=[],
    )
    return ast.copy_location(call, node)


def _refuse(node: ast.AST, message: str) -> ExpressionError:
    return ExpressionError(message, getattr(node, "col_offset", 0))


def compile_expression(source: str) -> Expression:
    """Parse and check ``source``; raise ExpressionError naming what is wrong and where."""
    text = source.strip()
    if not text:
        return TRUE
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"does not parse: {exc.msg}", max((exc.offset or 1) - 1, 0)) from exc
    translator = _Translator()
    body = translator.visit(tree).body
    lambda_tree = ast.Expression(
        ast.Lambda(
            args=ast.arguments(
                posonlyargs=[], args=[ast.arg("s"), ast.arg("c")], kwonlyargs=[],
                kw_defaults=[], defaults=[],
            ),
            body=body,
        )
    )  # fmt: skip
    ast.fix_missing_locations(lambda_tree)
    # Safe: the tree holds only the whitelisted nodes above, and runs with no builtins.
    test = eval(compile(lambda_tree, "<expression>", "eval"), {"__builtins__": {}})  # noqa: S307
    return Expression(
        text, frozenset(translator.skills), frozenset(translator.caller_attributes), test
    )
