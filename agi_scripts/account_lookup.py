"""``account_lookup``: the balance or the order status of the account number the caller keys.

``AGI(agi://127.0.0.1/account_lookup?what=balance)`` (or ``what=order``), optionally with
``digits=``, ``min=``, ``timeout=``, ``tries=`` (see :mod:`agi_scripts.dtmf`).

The caller hears the account number back digit by digit (a mistyped number is caught by
ear), then the balance (``SAY NUMBER`` of the units and of the cents, with ``cc/acct-*``
prompts around them; a negative balance is announced as arrears) or the order status
(``cc/order-<status>``; the status words are checked at import, so they are safe file
names).

Guessing guard (:mod:`agi_scripts.guard`): after too many failed lookups from one caller
number or from everyone, or too many lookups of one account, the caller hears
``cc/acct-too-many-tries``, ``CC_ACCOUNT_RESULT`` is ``limited`` and ``CC_ROUTE`` the
``refuse=`` target (default: the fallback, an agent); each refusal is logged.

Sets ``CC_ACCOUNT_RESULT`` (``found``, ``unknown``, ``invalid`` after ``tries`` junk
entries, ``limited``, ``unavailable`` when the store failed), and for a found account
``CC_ACCOUNT_NUMBER``, ``CC_ACCOUNT_BALANCE`` (``-1234.50``, empty when not kept),
``CC_ACCOUNT_ORDER_STATUS``, ``CC_ACCOUNT_AREA`` and ``CC_ACCOUNT_HOLDER``; ``CC_STATUS``.
A slow store ends in the runner's fallback.
"""

from __future__ import annotations

import logging
import re

from agi_scripts.dtmf import Entry, ask_digits
from agi_scripts.guard import LookupGuard, Refusal
from agi_scripts.runner import ScriptContext, StoreUnavailable
from agi_scripts.session import AgiSession
from callcenter.store.accounts import Account, get_account

log = logging.getLogger(__name__)

#: The ``ScriptContext.extras`` key of the server's :class:`LookupGuard` (made on first use).
GUARD = "account_lookup_guard"
#: The number the guard counts for callers who withhold theirs.
WITHHELD = "withheld"

PROMPT_ENTER = "cc/acct-enter-number"
PROMPT_INVALID = "cc/acct-invalid-number"
PROMPT_NO_INPUT = "cc/acct-no-input"
PROMPT_UNKNOWN = "cc/acct-unknown"
PROMPT_ACCOUNT = "cc/acct-account"  # "account number"
PROMPT_BALANCE = "cc/acct-balance-is"
PROMPT_ARREARS = "cc/acct-arrears-are"
PROMPT_UNITS = "cc/acct-yuan"
PROMPT_CENTS = "cc/acct-fen"
PROMPT_NO_BALANCE = "cc/acct-no-balance"
PROMPT_NO_ORDER = "cc/order-none"
PROMPT_GOODBYE = "cc/acct-goodbye"
PROMPT_TOO_MANY = "cc/acct-too-many-tries"


def balance_text(cents: int) -> str:
    """``-123450`` -> ``-1234.50``."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units}.{rest:02d}"


async def account_lookup(session: AgiSession, context: ScriptContext) -> None:
    env = session.environment
    what = "order" if env.query.get("what") == "order" else "balance"
    prompts = (PROMPT_ENTER, PROMPT_INVALID, PROMPT_NO_INPUT)
    entry = Entry.from_query(env.query, prompts, digits=(4, 20), longest=20)
    if context.store is None:
        raise StoreUnavailable("no store configured")
    guard = _guard(context)
    caller = env.caller_number or WITHHELD
    refuse = env.query.get("refuse") or context.fallback
    if refused := guard.refuse_caller(caller, context.clock()):
        await _refuse(session, refused, caller, "", refuse)
        return
    number = await ask_digits(session, entry)
    if number is None:
        guard.failed(caller, context.clock())
        await session.set_variables({"CC_ACCOUNT_RESULT": "invalid", "CC_STATUS": "ok"})
        await session.stream_file(PROMPT_GOODBYE)
        return
    if refused := guard.refuse_account(number, context.clock()):
        await _refuse(session, refused, caller, number, refuse)
        return
    try:
        account = await context.db(get_account(context.store, number))
    except StoreUnavailable:
        await session.set_variable("CC_ACCOUNT_RESULT", "unavailable")
        raise
    guard.looked_up(number, context.clock())
    if account is None:
        guard.failed(caller, context.clock())
        await session.set_variables({"CC_ACCOUNT_RESULT": "unknown", "CC_STATUS": "ok"})
        await session.stream_file(PROMPT_UNKNOWN)
        return
    values = {
        "CC_ACCOUNT_RESULT": "found",
        "CC_ACCOUNT_NUMBER": account.number,
        "CC_ACCOUNT_BALANCE": (
            balance_text(account.balance_cents) if account.balance_cents is not None else ""
        ),
        "CC_ACCOUNT_ORDER_STATUS": account.order_status or "",
        "CC_ACCOUNT_AREA": account.area or "",
        "CC_ACCOUNT_HOLDER": account.holder,
        "CC_STATUS": "ok",
    }
    await session.set_variables({name: value for name, value in values.items() if value})
    await session.stream_file(PROMPT_ACCOUNT)
    await session.say_digits(account.number)
    if what == "order":
        await _say_order(session, account)
    else:
        await _say_balance(session, account)


def _guard(context: ScriptContext) -> LookupGuard:
    guard = context.extras.get(GUARD)
    if not isinstance(guard, LookupGuard):
        guard = context.extras[GUARD] = LookupGuard()
    return guard


async def _refuse(session: AgiSession, why: Refusal, caller: str, account: str, route: str) -> None:
    # Logged for the operator: a guessing run shows as a burst of these. The account number
    # is masked: the log must not become a list of the numbers that were probed.
    masked = f"...{account[-2:]}" if account else "-"
    log.warning(
        "account_lookup refused (%s): caller %s account %s on %s",
        why, caller, masked, session.environment.get("channel"),
    )  # fmt: skip
    await session.set_variables(
        {"CC_ACCOUNT_RESULT": "limited", "CC_STATUS": "ok", "CC_ROUTE": route}
    )
    await session.stream_file(PROMPT_TOO_MANY)


async def _say_balance(session: AgiSession, account: Account) -> None:
    cents = account.balance_cents
    if cents is None:
        await session.stream_file(PROMPT_NO_BALANCE)
        return
    await session.stream_file(PROMPT_ARREARS if cents < 0 else PROMPT_BALANCE)
    units, rest = divmod(abs(cents), 100)
    await session.say_number(units)
    await session.stream_file(PROMPT_UNITS)
    if rest:
        await session.say_number(rest)
        await session.stream_file(PROMPT_CENTS)


_STATUS = re.compile(r"[a-z][a-z0-9_]{0,31}")


async def _say_order(session: AgiSession, account: Account) -> None:
    status = account.order_status or ""
    # Checked again here: the table may have been written by other tools than the import.
    known = _STATUS.fullmatch(status) is not None
    await session.stream_file(f"cc/order-{status}" if known else PROMPT_NO_ORDER)
