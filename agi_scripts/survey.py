"""``survey``: post-call satisfaction, 1 (poor) to 5 (excellent), kept on the interaction.

``AGI(agi://127.0.0.1/survey,${CC_CALL_ID})`` or ``.../survey?call=ID``: the id is the
original call's (``agi_uniqueid`` of the inbound channel, the ``call_id`` the engine and
``dnis_route`` store); after a transfer to the survey the current channel's id is another
one, so it must be passed. The score goes to ``interactions.survey_score`` of that call;
a second answer for the same call replaces the first.

Sets ``CC_SURVEY_RESULT`` (``recorded``, ``unknown_call`` when no such interaction,
``no_call`` when no valid id was passed, ``invalid`` after ``tries`` keys that were no
score, ``unavailable`` when the store failed), ``CC_SURVEY_SCORE`` and ``CC_STATUS``.
Junk keys (``0``, ``6``-``9``, ``*``) and more than one digit are asked again.
"""

from __future__ import annotations

import re

from agi_scripts.dtmf import Entry, ask_digits, bounded
from agi_scripts.runner import ScriptContext, StoreUnavailable
from agi_scripts.session import AgiSession

PROMPT_RATE = "cc/survey-rate-1-to-5"
PROMPT_INVALID = "cc/survey-invalid"
PROMPT_NO_INPUT = "cc/survey-no-input"
PROMPT_THANKS = "cc/survey-thanks"

# Asterisk's uniqueid is "<epoch>.<sequence>"; other engines' ids are similar tokens.
_CALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


async def survey(session: AgiSession, context: ScriptContext) -> None:
    env = session.environment
    call_id = env.query.get("call") or (env.args[0] if env.args else "")
    if not _CALL_ID.fullmatch(call_id):
        await session.set_variables({"CC_SURVEY_RESULT": "no_call", "CC_STATUS": "unknown"})
        return
    if context.store is None:
        raise StoreUnavailable("no store configured")
    entry = Entry(
        PROMPT_RATE,
        PROMPT_INVALID,
        PROMPT_NO_INPUT,
        min_digits=1,
        max_digits=1,
        timeout_ms=bounded(env.query.get("timeout"), 6000, 1000, 30000),
        tries=bounded(env.query.get("tries"), 2, 1, 5),
    )
    keyed = await ask_digits(session, entry, accept=lambda digit: "1" <= digit <= "5")
    score = int(keyed) if keyed is not None else None
    if score is None:
        await session.set_variables({"CC_SURVEY_RESULT": "invalid", "CC_STATUS": "ok"})
        return
    try:
        found = await context.db(context.store.update_interaction(call_id, survey_score=score))
    except StoreUnavailable:
        await session.set_variable("CC_SURVEY_RESULT", "unavailable")
        raise
    await session.set_variables(
        {
            "CC_SURVEY_RESULT": "recorded" if found else "unknown_call",
            "CC_SURVEY_SCORE": str(score),
            "CC_STATUS": "ok",
        }
    )
    await session.stream_file(PROMPT_THANKS)
