"""``dnis_route``: the dialed number -> entry point, campaign and prompt language.

Sets ``CC_DNIS``, ``CC_ENTRY`` (a target such as ``ivr:hotline-main``), ``CC_CAMPAIGN``,
``CC_LANG`` and ``CC_STATUS`` (``ok``, or ``unknown`` with ``CC_ENTRY`` the fallback). The
number is the first argument (``${EXTEN}`` from the inbound context) or ``agi_dnid``;
``agi_dnid`` is ``unknown`` on Local channels (trace ``agi_classic.jsonl``), so the
dialplan should pass ``${EXTEN}``.

Each call is also recorded as an interaction (``call_id`` = ``agi_uniqueid``, the id the
engine uses for the channel) with its DNIS, campaign and arrival time, which is what the
per-number and per-time-slot report counts (广告监测). Routing does not wait on that:
a slow store only loses the count.
"""

from __future__ import annotations

import logging

from agi_scripts.runner import ScriptContext, StoreUnavailable
from agi_scripts.session import AgiSession
from callcenter.store import InteractionFields

log = logging.getLogger(__name__)


async def dnis_route(session: AgiSession, context: ScriptContext) -> None:
    env = session.environment
    dnis = (env.args[0] if env.args else "") or env.query.get("dnis") or env.dialed_number
    number = context.config.numbers.get(dnis) if context.config is not None else None
    if number is None:
        await session.set_variables(
            {"CC_DNIS": dnis, "CC_ENTRY": context.fallback, "CC_STATUS": "unknown"}
        )
        return
    campaign = number.campaign or ""
    await session.set_variables(
        {
            "CC_DNIS": dnis,
            "CC_ENTRY": str(number.target),
            "CC_CAMPAIGN": campaign,
            "CC_LANG": number.language or "",
            "CC_STATUS": "ok",
        }
    )
    if context.store is None or not env.get("uniqueid"):
        return
    fields: InteractionFields = {
        "dnis": dnis,
        "campaign": campaign or None,
        "entry_point": str(number.target),
        "caller_number": env.caller_number or None,
        "caller_name": env.caller_name or None,
        "arrived_at": context.clock(),
    }
    try:
        await context.db(context.store.upsert_interaction(env.get("uniqueid"), **fields))
    except StoreUnavailable as exc:
        log.warning("call %s to %s not counted: %s", env.get("uniqueid"), dnis, exc)
