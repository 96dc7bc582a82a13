"""``outage_notice``: is there an outage where the caller lives? Announce it.

``AGI(agi://127.0.0.1/outage_notice)``; the area is the first of:

1. ``?area=021`` or the first argument (the dialplan knows it, e.g. from the DNIS);
2. ``CC_ACCOUNT_AREA``, set by ``account_lookup`` earlier in the call;
3. the area of the accounts whose customer calls from this number (one area only: a
   caller with accounts in two areas is asked);
4. keyed by the caller (``cc/outage-enter-area``, 2 to 6 digits) unless ``?ask=0``.

Sets ``CC_OUTAGE`` (1/0), ``CC_OUTAGE_AREA``, and for an active outage
``CC_OUTAGE_NOTICE`` (the declared text), ``CC_OUTAGE_ID``, ``CC_OUTAGE_GRADE`` (1 most
severe .. 4), ``CC_OUTAGE_END`` (expected end, epoch seconds, when declared); then plays
the outage's recorded prompt (or ``cc/outage-in-your-area``) and, while it is still
ahead, the expected end (``cc/outage-expected-end`` + ``SAY DATETIME``). ``?play=0`` only
sets the variables. ``CC_STATUS``: ``ok``, ``unknown`` when no area could be had; a slow
store ends in the runner's fallback.
"""

from __future__ import annotations

import re

from agi_scripts.dtmf import Entry, ask_digits
from agi_scripts.runner import ScriptContext, StoreUnavailable
from agi_scripts.session import AgiSession
from callcenter.store import Store
from callcenter.store.accounts import accounts_of_customer
from callcenter.store.outages import active_outages

PROMPT_ENTER = "cc/outage-enter-area"
PROMPT_INVALID = "cc/outage-invalid-area"
PROMPT_NO_INPUT = "cc/outage-no-input"
PROMPT_OUTAGE = "cc/outage-in-your-area"
PROMPT_EXPECTED_END = "cc/outage-expected-end"

_AREA = re.compile(r"[0-9]{1,10}")
_PROMPT = re.compile(r"[A-Za-z0-9_/-]{1,80}")


async def outage_notice(session: AgiSession, context: ScriptContext) -> None:
    if context.store is None:
        raise StoreUnavailable("no store configured")
    area = await _area(session, context, context.store)
    if area is None:
        await session.set_variables({"CC_OUTAGE": "0", "CC_STATUS": "unknown"})
        return
    now = context.clock()
    found = await context.db(active_outages(context.store, now, area))
    if not found:
        await session.set_variables({"CC_OUTAGE": "0", "CC_OUTAGE_AREA": area, "CC_STATUS": "ok"})
        return
    outage = found[0]
    values = {
        "CC_OUTAGE": "1",
        "CC_OUTAGE_AREA": area,
        "CC_OUTAGE_NOTICE": outage.notice,
        "CC_OUTAGE_ID": str(outage.id),
        "CC_OUTAGE_GRADE": str(outage.grade),
        "CC_OUTAGE_END": f"{outage.expected_end_at:.0f}" if outage.expected_end_at else "",
        "CC_STATUS": "ok",
    }
    await session.set_variables({name: value for name, value in values.items() if value})
    if session.environment.query.get("play") == "0":
        return
    prompt = outage.prompt if outage.prompt and _PROMPT.fullmatch(outage.prompt) else None
    await session.stream_file(prompt or PROMPT_OUTAGE)
    if outage.expected_end_at is not None and outage.expected_end_at > now:
        await session.stream_file(PROMPT_EXPECTED_END)
        await session.say_datetime(outage.expected_end_at, fmt="ABdY 'digits/at' IMp")


async def _area(session: AgiSession, context: ScriptContext, store: Store) -> str | None:
    env = session.environment
    given = env.query.get("area") or (env.args[0] if env.args else "")
    if given:
        return given if _AREA.fullmatch(given) else None
    from_account = await session.get_variable("CC_ACCOUNT_AREA") or ""
    if _AREA.fullmatch(from_account):
        return from_account
    if env.caller_number:
        accounts = await context.db(accounts_of_customer(store, env.caller_number))
        areas = {account.area for account in accounts if account.area}
        if len(areas) == 1:
            return areas.pop()
    if env.query.get("ask") == "0":
        return None
    entry = Entry.from_query(
        env.query, (PROMPT_ENTER, PROMPT_INVALID, PROMPT_NO_INPUT), digits=(2, 6), longest=10
    )
    return await ask_digits(session, entry)
