"""The value types admins write in the files, each with the sentence that says what is allowed.

Pydantic's own messages ("Input should be greater than 0") name neither the unit nor an
example. Each type here checks its value itself and refuses it with a `not_allowed` error
carrying that sentence; the loader prints ``<value> is not allowed: <sentence>``.

The checks are strict on purpose: ``ring_timeout: "15"`` or ``record: yes`` is more likely
a slip than a wish, and YAML 1.2 already reads ``yes`` as text.
"""

from __future__ import annotations

import datetime as dt
import keyword
import math
import re
import zoneinfo
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainValidator
from pydantic_core import PydanticCustomError

from callcenter.config import pins
from callcenter.config.expressions import ExpressionProblem, check_caller_rule, compile_checked
from callcenter.config.targets import NAME, TargetError, parse_target
from callcenter.core.spec import Target


def not_allowed(allowed: str) -> PydanticCustomError:
    """The value is wrong; ``allowed`` starts with "must", e.g. "must be true or false"."""
    return PydanticCustomError("not_allowed", "{allowed}", {"allowed": allowed})


def refused(message: str) -> PydanticCustomError:
    """Like `not_allowed`, but the message stands alone and the value is never shown (PINs)."""
    return PydanticCustomError("refused", "{message}", {"message": message})


def _number(allowed: str, *, whole: bool = False, low: float | None = None,
            above: bool = False, high: float | None = None) -> BeforeValidator:  # fmt: skip
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise not_allowed(allowed)
        too_low = low is not None and (value <= low if above else value < low)
        too_high = high is not None and value > high
        fraction = whole and not isinstance(value, int)
        if fraction or not math.isfinite(value) or too_low or too_high:
            raise not_allowed(allowed)
        return value

    return BeforeValidator(check)


def _text(allowed: str, pattern: re.Pattern[str] | str | None = None, *,
          numbers: bool = False) -> BeforeValidator:  # fmt: skip
    """Non-empty text matching ``pattern``; with ``numbers``, 1001 is taken as "1001"."""
    compiled = re.compile(pattern) if isinstance(pattern, str) else pattern

    def check(value: Any) -> str:
        if numbers and type(value) is int:
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise not_allowed(allowed)
        if compiled is not None and not compiled.fullmatch(value):
            raise not_allowed(allowed)
        return value

    return BeforeValidator(check)


Seconds = Annotated[float, _number("must be a number of seconds greater than 0", low=0, above=True)]
Fraction = Annotated[float, _number("must be a fraction above 0 and at most 1, e.g. 0.8", low=0,
                                    above=True, high=1)]  # fmt: skip
SecondsOrZero = Annotated[float, _number("must be a number of seconds, 0 or more", low=0)]
Count = Annotated[int, _number("must be a whole number, 0 or more", whole=True, low=0)]
_PENALTY_RULE = "must be a tier level: a whole number, 0 or more (0 goes first)"
Penalty = Annotated[int, _number(_PENALTY_RULE, whole=True, low=0)]
Proficiency = Annotated[int, _number("must be a proficiency, 1 to 5", whole=True, low=1, high=5)]
_RANK_RULE = "must be a whole number, 1 or more (1: the agent's first queue)"
QueueRank = Annotated[int, _number(_RANK_RULE, whole=True, low=1)]
CallerPriority = Annotated[
    int, _number("must be a whole number, 0 or more (higher is served first)", whole=True, low=0)
]
Weight = Annotated[float, _number("must be a number greater than 0", low=0, above=True)]


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise not_allowed("must be true or false")
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]

SKILL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
AGENT_ID = re.compile(r"\w+", re.ASCII)
CODE = re.compile(r"[a-z0-9][a-z0-9_-]*")
NAME_RULE = "must be a name of letters, digits, '-', '_' or '.', e.g. hotline-sales"
AGENT_ID_RULE = "must be an agent id: digits or a word of letters, digits and '_', e.g. 1001"
SKILL_RULE = "must be a skill name: a letter or '_', then letters, digits or '_', e.g. billing"
CODE_RULE = "must be a code of lower-case letters, digits, '-' or '_', e.g. resolved"


def _skill_name(value: Any) -> str:
    # Skill names appear bare in expressions, so they must be identifiers but not words
    # the expression language gives a meaning to.
    reserved = value in {"caller", "true", "false", "True", "False"} or keyword.iskeyword(value)
    if not isinstance(value, str) or not SKILL_NAME.fullmatch(value) or reserved:
        raise not_allowed(SKILL_RULE)
    return value


Label = Annotated[str, _text("must be text, e.g. 销售 Sales")]
Name = Annotated[str, _text(NAME_RULE, NAME, numbers=True)]
AgentId = Annotated[str, _text(AGENT_ID_RULE, AGENT_ID, numbers=True)]
SkillName = Annotated[str, BeforeValidator(_skill_name)]
Code = Annotated[str, _text(CODE_RULE, CODE)]
PromptName = Annotated[
    str,
    _text(
        "must be a sound file name without extension, e.g. hotline/welcome",
        r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*",
    ),
]
Endpoint = Annotated[
    str, _text("must be TECH/resource, e.g. PJSIP/1001", r"[A-Za-z][A-Za-z0-9]*/\S+")
]
MusicClass = Annotated[
    str, _text("must be a music-on-hold class from musiconhold.conf, e.g. default", r"[\w-]+")
]
Language = Annotated[
    str, _text("must be an Asterisk language code, e.g. zh or en", r"[a-z]{2,3}(_[A-Za-z]{2,4})?")
]
Campaign = Annotated[
    str, _text("must be a campaign name of letters, digits, '-', '_' or '.', e.g. cctv1-2026", NAME)
]
AttributeName = Annotated[str, _text("must be an attribute name, e.g. vip", SKILL_NAME)]


def _dtmf(value: Any) -> str:
    if type(value) is int and 0 <= value <= 9:
        return str(value)
    if not isinstance(value, str) or len(value) != 1 or value not in "0123456789*#":
        raise not_allowed("must be one phone key: 0-9, * or # (write * and # in quotes)")
    return value


Dtmf = Annotated[str, BeforeValidator(_dtmf)]


def _pin_hash(value: Any) -> str:
    if isinstance(value, str) and pins.is_pin_hash(value):
        return value
    raise refused(
        "a clear-text PIN is not allowed: store only its hash; run `callcenter config hash-pin` "
        "and paste the scrypt$... line it prints"
    )


PinHashText = Annotated[str, BeforeValidator(_pin_hash)]


def _target(value: Any) -> Target:
    if isinstance(value, Target):
        return value
    if not isinstance(value, str):
        raise not_allowed("must be a target such as queue:sales or ivr:hotline-main")
    try:
        return parse_target(value)
    except TargetError as exc:
        raise not_allowed(str(exc)) from None


TargetText = Annotated[Target, PlainValidator(_target)]


def _scalar(value: Any) -> str | int | float | bool:
    if not isinstance(value, str | int | float | bool):
        raise not_allowed("must be text, a number, true or false")
    return value


Scalar = Annotated[str | int | float | bool, PlainValidator(_scalar)]


def _time_zone(value: Any) -> str:
    allowed = "must be a time zone name, e.g. Asia/Shanghai"
    if not isinstance(value, str):
        raise not_allowed(allowed)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise not_allowed(allowed) from None
    return value


TimeZoneName = Annotated[str, BeforeValidator(_time_zone)]


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise not_allowed("must be a date like 2026-10-01") from None


Day = Annotated[dt.date, PlainValidator(_day)]


def _moment(value: Any) -> dt.datetime:
    allowed = "must be a date and time with its UTC offset, e.g. 2026-07-01 08:00:00+08:00"
    try:
        moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise not_allowed(allowed) from None
    if moment.utcoffset() is None:
        raise not_allowed(allowed)
    return moment


Moment = Annotated[dt.datetime, PlainValidator(_moment)]


@dataclass(frozen=True, slots=True, order=True)
class OpeningRange:
    """Open from ``start`` to ``end``, in minutes after midnight (``end`` may be 24:00)."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.start // 60:02}:{self.start % 60:02}-{self.end // 60:02}:{self.end % 60:02}"


_RANGE = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])\s*-\s*([01][0-9]|2[0-4]):([0-5][0-9])")


def _opening_range(value: Any) -> OpeningRange:
    if isinstance(value, OpeningRange):
        return value
    match = _RANGE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match:
        start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
        start, end = start_h * 60 + start_m, end_h * 60 + end_m
        if start < end <= 24 * 60:
            return OpeningRange(start, end)
    raise not_allowed("must be opening hours like 08:30-17:30, start before end (24:00: midnight)")


Opening = Annotated[OpeningRange, PlainValidator(_opening_range)]


def _requirement(value: Any) -> str:
    if not isinstance(value, str):
        raise not_allowed('must be an expression in quotes, e.g. "billing >= 3"')
    try:
        compile_checked(value)
    except ExpressionProblem as exc:
        raise PydanticCustomError(
            "expression", "{problem}", {"problem": str(exc), "offset": exc.offset}
        ) from None
    return value


def _caller_rule(value: Any) -> str:
    if not isinstance(value, str):
        raise not_allowed('must be an expression in quotes, e.g. "caller.vip == true"')
    try:
        check_caller_rule(value)
    except ExpressionProblem as exc:
        raise PydanticCustomError(
            "expression", "{problem}", {"problem": str(exc), "offset": exc.offset}
        ) from None
    return value


Requirement = Annotated[str, BeforeValidator(_requirement)]
CallerRule = Annotated[str, BeforeValidator(_caller_rule)]


def at(path: tuple[str | int, ...], error: PydanticCustomError) -> PydanticCustomError:
    """Point a model-level error at one of the model's fields (``at`` is read by the loader)."""
    context = dict(error.context or {})
    context["at"] = path
    return PydanticCustomError(error.type, error.message_template, context)
