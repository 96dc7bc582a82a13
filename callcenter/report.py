"""``callcenter report``: the traffic figures of a period, read from the store alone.

One row per queue (or dialed number, or campaign) and time slot: offered,
answered, abandoned, service level, abandonment, speed of answer, handle time,
longest wait. The formulas are those of ``callcenter.store.reports``.
"""

from __future__ import annotations

import datetime as dt

from callcenter.store import Store
from callcenter.store.reports import GroupBy, ServiceLevelRule, TrafficFigures, traffic

_COLUMNS = (
    ("group", 18), ("slot", 17), ("offered", 8), ("answered", 9), ("abandon", 8),
    ("SL %", 6), ("aband %", 8), ("ASA s", 6), ("AHT s", 6), ("max wait", 9),
)  # fmt: skip


async def render(
    url: str,
    start: float,
    end: float,
    by: GroupBy | None,
    slot: float | None,
    rule: ServiceLevelRule,
) -> str:
    async with await Store.open(url, migrate=False) as store:
        rows = await traffic(store, start, end, by=by, slot=slot, rule=rule)
    lines = ["".join(f"{name:>{width}}" if i > 1 else f"{name:<{width}}"
                     for i, (name, width) in enumerate(_COLUMNS))]  # fmt: skip
    lines += [_row(row) for row in rows]
    if not rows:
        lines.append("(no calls in this period)")
    return "\n".join(lines)


def _row(row: TrafficFigures) -> str:
    slot = _moment(row.slot_start) if row.slot_start is not None else "whole period"
    cells = (
        (row.key or "-")[:17], slot, row.offered, row.answered, row.abandoned,
        _figure(row.service_level), _figure(row.abandonment), _figure(row.asa),
        _figure(row.aht), _figure(row.longest_wait),
    )  # fmt: skip
    return "".join(
        f"{cell!s:>{width}}" if i > 1 else f"{cell!s:<{width}}"
        for i, (cell, (_, width)) in enumerate(zip(cells, _COLUMNS, strict=True))
    )


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _moment(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M")


def parse_moment(text: str) -> float:
    """``2026-11-27`` or ``2026-11-27T08:00`` (UTC unless an offset is given) -> epoch."""
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()
