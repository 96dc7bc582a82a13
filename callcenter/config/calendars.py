"""Business hours and holiday calendars, and the one question they answer: open right now?

An hours calendar gives weekly opening ranges in a named time zone and lists holiday
calendars. A holiday calendar lists days (or ranges of days) that are closed, or open only
at special hours, and "make-up workdays": in China a weekend day is often worked in
exchange for a longer holiday (调休), and on those days the Monday hours apply.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from callcenter.config.models import Entry
from callcenter.config.values import (
    Day,
    Label,
    Name,
    Opening,
    OpeningRange,
    TimeZoneName,
    at,
    not_allowed,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAYS_RULE = "must be a weekday (mon, tue, ... sun) or a range of them, e.g. mon-fri"


def days_of(spec: str) -> tuple[int, ...]:
    """``"mon-fri"`` -> ``(0, 1, 2, 3, 4)`` (Python's weekday numbers)."""
    first, _, last = spec.partition("-")
    start = WEEKDAYS.index(first)
    return tuple(range(start, WEEKDAYS.index(last or first) + 1))


def _day_set(value: Any) -> str:
    if isinstance(value, str):
        first, _, last = value.partition("-")
        if first in WEEKDAYS and (not last or last in WEEKDAYS[WEEKDAYS.index(first) :]):
            return f"{first}-{last}" if last else first
    raise not_allowed(DAYS_RULE)


def _one_or_many(value: Any) -> Any:
    """``mon-fri: 08:30-17:30`` is short for ``mon-fri: [08:30-17:30]``."""
    return [value] if isinstance(value, str) else value


DaySet = Annotated[str, BeforeValidator(_day_set)]
Openings = Annotated[tuple[Opening, ...], BeforeValidator(_one_or_many)]


def _overlap(ranges: tuple[OpeningRange, ...]) -> int | None:
    """The index of the first range that overlaps an earlier one, if any."""
    for index, current in enumerate(ranges):
        if any(other.start < current.end and current.start < other.end for other in ranges[:index]):
            return index
    return None


class Hours(Entry):
    label: Label | None = None
    """What the calendar is for, e.g. 热线服务时间 Hotline hours."""
    timezone: TimeZoneName
    """The time zone the hours are in, e.g. Asia/Shanghai."""
    weekly: dict[DaySet, Openings] = Field(default_factory=dict)
    """Opening hours per weekday, e.g. `mon-fri: [08:30-12:00, 13:00-17:30]`; others closed."""
    holidays: tuple[Name, ...] = ()
    """Holiday calendars that apply; on a day listed in several, the first one listed wins."""

    @model_validator(mode="after")
    def _each_day_once(self) -> Hours:
        seen: set[int] = set()
        for spec, ranges in self.weekly.items():
            again = seen.intersection(days_of(spec))
            if again:
                day = WEEKDAYS[min(again)]
                raise at(("weekly", spec, "[key]"), not_allowed(f"must not repeat {day}"))
            seen.update(days_of(spec))
            index = _overlap(ranges)
            if index is not None:
                raise at(("weekly", spec, index), not_allowed("must not overlap another range"))
        return self

    def ranges_on(self, weekday: int) -> tuple[OpeningRange, ...]:
        for spec, ranges in self.weekly.items():
            if weekday in days_of(spec):
                return ranges
        return ()


class HolidayDay(Entry):
    name: Label
    """What the day is, e.g. 春节 Spring Festival."""
    date: Day | None = None
    """A single day, e.g. 2026-04-05 (or give `from` and `to`)."""
    first: Day | None = Field(default=None, alias="from")
    """The first day of a range, e.g. 2026-10-01."""
    last: Day | None = Field(default=None, alias="to")
    """The last day of a range (included), e.g. 2026-10-07."""
    hours: Openings = ()
    """Open only at these hours on these days; left out: closed all day."""

    @model_validator(mode="after")
    def _one_day_or_range(self) -> HolidayDay:
        if self.date is not None and (self.first is not None or self.last is not None):
            raise at(("date",), not_allowed("must not be given together with from/to"))
        if self.date is None and self.first is None and self.last is None:
            raise at(("date",), not_allowed("must be given (or from and to)"))
        if self.date is None and (self.first is None) != (self.last is None):
            missing, given = ("from", "to") if self.first is None else ("to", "from")
            raise at((missing,), not_allowed(f"must be given with {given}"))
        if self.first is not None and self.last is not None and self.last < self.first:
            raise at(("to",), not_allowed("must not be before from"))
        index = _overlap(self.hours)
        if index is not None:
            raise at(("hours", index), not_allowed("must not overlap another range"))
        return self

    @property
    def span(self) -> tuple[dt.date, dt.date]:
        first, last = self.date or self.first, self.date or self.last
        if first is None or last is None:  # the validator makes this impossible
            raise ValueError("a holiday needs a date, or from and to")
        return first, last


class HolidayCalendar(Entry):
    label: Label | None = None
    """What the calendar is, e.g. 2026年法定节假日 Public holidays 2026."""
    days: tuple[HolidayDay, ...] = ()
    """Holidays: `- {name: 清明节, from: 2026-04-04, to: 2026-04-06}`."""
    workdays: tuple[Day, ...] = ()
    """Weekend days worked as ordinary days (调休): the Monday hours apply."""

    @model_validator(mode="after")
    def _no_day_twice(self) -> HolidayCalendar:
        spans = [day.span for day in self.days]
        for index, (first, last) in enumerate(spans):
            for other_first, other_last in spans[:index]:
                if first <= other_last and other_first <= last:
                    raise at(("days", index), not_allowed("must not overlap an earlier entry"))
        return self

    def day(self, date: dt.date) -> HolidayDay | None:
        return next((d for d in self.days if d.span[0] <= date <= d.span[1]), None)


def is_open(hours: Hours, calendars: Mapping[str, HolidayCalendar], moment: dt.datetime) -> bool:
    """Whether ``hours`` say open at ``moment`` (an aware datetime), holidays considered."""
    local = moment.astimezone(zoneinfo.ZoneInfo(hours.timezone))
    minute = local.hour * 60 + local.minute
    ranges = hours.ranges_on(local.weekday())
    for name in hours.holidays:
        calendar = calendars.get(name)
        if calendar is None:
            continue
        holiday = calendar.day(local.date())
        if holiday is not None:
            ranges = holiday.hours
            break
        if local.date() in calendar.workdays:
            ranges = hours.ranges_on(0)
            break
    return any(r.start <= minute < r.end for r in ranges)
