"""``business_hours``: open now? For a dialed number (its ``hours``/``closed``) or a named
hours calendar.

``AGI(agi://127.0.0.1/business_hours,${EXTEN})`` or ``.../business_hours?hours=hotline``.
Sets ``CC_OPEN`` (1/0) and, when closed, ``CC_ROUTE`` to the number's ``closed`` target;
a number without hours is always open. ``CC_ANNOUNCEMENT`` names the number's announcement
while it is playing (an outage notice), else empty. Unknown number or calendar:
``CC_STATUS=unknown`` and ``CC_OPEN=1``: better an agent than a caller turned away.
"""

from __future__ import annotations

import datetime as dt

from agi_scripts.runner import ScriptContext
from agi_scripts.session import AgiSession
from callcenter.config import is_open


async def business_hours(session: AgiSession, context: ScriptContext) -> None:
    env = session.environment
    config = context.config
    now = dt.datetime.fromtimestamp(context.clock(), dt.UTC)
    calendar_name = env.query.get("hours")
    dnis = (env.args[0] if env.args else "") or env.dialed_number
    number = config.numbers.get(dnis) if config is not None else None
    if calendar_name is None and number is not None:
        calendar_name = number.hours
        if calendar_name is None:  # no hours: open around the clock
            announcement = _announcement(context, number.announcement, now)
            await session.set_variables({"CC_ANNOUNCEMENT": announcement, "CC_OPEN": "1",
                                         "CC_STATUS": "ok"})  # fmt: skip
            return
    hours = config.hours.get(calendar_name or "") if config is not None else None
    if config is None or hours is None:
        await session.set_variables({"CC_OPEN": "1", "CC_STATUS": "unknown"})
        return
    open_now = is_open(hours, config.holidays, now)
    # Set (to empty too) in the same round trip as the rest (AgiSession.set_variables).
    values = {
        "CC_ANNOUNCEMENT": _announcement(context, number.announcement if number else None, now),
        "CC_OPEN": "1" if open_now else "0",
        "CC_STATUS": "ok",
    }
    if not open_now and number is not None and number.closed is not None:
        values["CC_ROUTE"] = str(number.closed)
    await session.set_variables(values)


def _announcement(context: ScriptContext, name: str | None, now: dt.datetime) -> str:
    """``name`` while that announcement is playing, else empty."""
    announcement = context.config.announcements.get(name or "") if context.config else None
    playing = announcement is not None and announcement.playing_at(now)
    return name if playing and name else ""
