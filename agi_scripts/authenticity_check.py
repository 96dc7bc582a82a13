"""``authenticity_check``: the caller keys in the code printed on the product label.

``AGI(agi://127.0.0.1/authenticity_check)``, optionally ``?digits=16&min=6&timeout=8000
&tries=3&refuse=queue:service-desk``. The code is checked against the imported table
(``callcenter import codes FILE``) and the caller hears one of:

* ``genuine``: known, and this is its first check (when and by which number is kept);
* ``already_checked``: known, checked before; the caller hears the date of that first
  check, since a copied label is checked again by every buyer;
* ``unknown``: not in the table.

Sets ``CC_AUTH_RESULT`` (those three, ``limited``, ``invalid`` after ``tries`` entries that
were no code, ``unavailable`` when the store failed), ``CC_AUTH_PRODUCT``,
``CC_AUTH_FIRST_CHECKED`` (epoch seconds, for ``already_checked``) and ``CC_STATUS``.

Rate limit: at most ``RateLimit.attempts`` checks per caller number per window (by
default 5 per 10 minutes; withheld numbers share one allowance). Beyond it the caller
hears a polite refusal and ``CC_ROUTE`` is ``refuse`` (default: the fallback, an agent).

Input is collected by :func:`agi_scripts.dtmf.ask_digits`: junk (``*``, nothing keyed)
and over-long entries are refused and asked again, ``tries`` times in all.
"""

from __future__ import annotations

from agi_scripts.dtmf import Entry, ask_digits
from agi_scripts.runner import ScriptContext, StoreUnavailable
from agi_scripts.session import AgiSession
from callcenter.store.codes import CheckResult, RateLimit, check_code, checks_since

#: The ``ScriptContext.extras`` key for a :class:`RateLimit` other than the default.
RATE_LIMIT = "authenticity_rate_limit"
#: The number the rate limit counts for callers who withhold theirs.
WITHHELD = "withheld"

PROMPT_ENTER = "cc/auth-enter-code"
PROMPT_INVALID = "cc/auth-invalid-code"
PROMPT_NO_INPUT = "cc/auth-no-input"
PROMPT_GENUINE = "cc/auth-genuine"
PROMPT_ALREADY = "cc/auth-already-checked"
PROMPT_UNKNOWN = "cc/auth-unknown"
PROMPT_TOO_MANY = "cc/auth-too-many-checks"
PROMPT_GOODBYE = "cc/auth-goodbye"

_SAYS = {
    CheckResult.GENUINE: PROMPT_GENUINE,
    CheckResult.ALREADY_CHECKED: PROMPT_ALREADY,
    CheckResult.UNKNOWN: PROMPT_UNKNOWN,
}


async def authenticity_check(session: AgiSession, context: ScriptContext) -> None:
    env = session.environment
    prompts = (PROMPT_ENTER, PROMPT_INVALID, PROMPT_NO_INPUT)
    entry = Entry.from_query(env.query, prompts, digits=(6, 16))
    refuse = env.query.get("refuse") or context.fallback
    limit = context.extras.get(RATE_LIMIT)
    if not isinstance(limit, RateLimit):
        limit = RateLimit()
    number = env.caller_number or WITHHELD
    if context.store is None:
        raise StoreUnavailable("no store configured")
    store = context.store

    try:
        recent = await context.db(checks_since(store, number, context.clock() - limit.window))
    except StoreUnavailable:
        await session.set_variable("CC_AUTH_RESULT", "unavailable")
        raise
    if recent >= limit.attempts:
        await _refuse(session, refuse)
        return
    code = await ask_digits(session, entry)
    if code is None:
        await session.set_variables({"CC_AUTH_RESULT": "invalid", "CC_STATUS": "ok"})
        await session.stream_file(PROMPT_GOODBYE)
        return
    try:
        check = await context.db(check_code(store, code, number, at=context.clock(), limit=limit))
    except StoreUnavailable:
        await session.set_variable("CC_AUTH_RESULT", "unavailable")
        raise
    if check.result is CheckResult.LIMITED:
        await _refuse(session, refuse)
        return
    values = {"CC_AUTH_RESULT": str(check.result), "CC_STATUS": "ok"}
    if check.code is not None and check.code.product:
        values["CC_AUTH_PRODUCT"] = check.code.product
    first = check.code.first_checked_at if check.code is not None else None
    if check.result is CheckResult.ALREADY_CHECKED and first is not None:
        values["CC_AUTH_FIRST_CHECKED"] = f"{first:.0f}"
    await session.set_variables(values)
    await session.stream_file(_SAYS[check.result])
    if check.result is CheckResult.ALREADY_CHECKED and first is not None:
        await session.say_datetime(first)


async def _refuse(session: AgiSession, route: str) -> None:
    await session.set_variables({"CC_AUTH_RESULT": "limited", "CC_STATUS": "ok", "CC_ROUTE": route})
    await session.stream_file(PROMPT_TOO_MANY)
