"""``caller_lookup``: who is calling, as channel variables the engine and dialplan read.

Sets ``CC_STATUS`` (``ok``, ``unknown`` for a number not in the store or withheld),
``CC_CUSTOMER_NAME``, ``CC_CUSTOMER_TAGS`` (comma-separated), ``CC_VIP`` (1/0),
``CC_LANG`` and ``CC_LAST_AGENT``. The number is ``agi_callerid``, or the first argument
when the dialplan passes one (``AGI(agi://127.0.0.1/caller_lookup,${CALLERID(num)})``).
A slow store ends in the runner's fallback (``CC_STATUS=fallback``).
"""

from __future__ import annotations

from agi_scripts.lookups import caller_profile, read_caller_profile
from agi_scripts.runner import ScriptContext, StoreUnavailable
from agi_scripts.session import AgiSession
from callcenter.store.sqlite_reader import sqlite_reader


async def caller_lookup(session: AgiSession, context: ScriptContext) -> None:
    env = session.environment
    number = (env.args[0] if env.args else "") or env.query.get("number") or env.caller_number
    if not number:
        await session.set_variables({"CC_STATUS": "unknown", "CC_VIP": "0"})
        return
    if context.store is None:
        raise StoreUnavailable("no store configured")
    reader = context.db_now(sqlite_reader, context.store)
    if reader is not None:  # the usual case: a point read in the event loop, no await
        profile = context.db_now(read_caller_profile, reader, number)
    else:
        profile = await context.db(caller_profile(context.store, number))
    if profile is None:
        await session.set_variables({"CC_STATUS": "unknown", "CC_VIP": "0"})
        return
    found = {
        "CC_CUSTOMER_NAME": profile.name,
        "CC_CUSTOMER_TAGS": ",".join(profile.tags),
        "CC_VIP": "1" if profile.vip else "0",
        "CC_LANG": profile.language,
        "CC_LAST_AGENT": profile.last_agent,
        "CC_STATUS": "ok",
    }
    # Empty values are not sent: an unset variable reads as empty in the dialplan and in
    # ARI, and a customer without a language keeps the one dnis_route set (CC_LANG).
    # All of them go in one round trip (one EXEC MSet): with a command per variable, a
    # known caller cost six, and those round trips were most of the FastAGI call's time
    # (bench/agi.py).
    await session.set_variables({name: value for name, value in found.items() if value})
