"""The mark a restarted engine finds a waiting caller's place by: one channel variable.

Each time a caller joins a queue (on arrival, an overflow, a move, a transfer) the engine
marks its channel with the queue, its priority and its entry time, so that a restarted
engine rebuilds the line in its order (recovery.py). One variable, ``CC_QUEUED``, holds
all three, URL-encoded: ``queue=sales&priority=5&at=1732712345.123``. One request per
entry instead of three, and one ``ChannelVarset`` event instead of three
(hold_mute_variables_continue.md: every set emits one). ARI sets one variable per
request (``POST /channels/{id}/variable``, ari-api-docs/channels.json), hence the
encoding. Nothing in the dialplan or the AGI scripts reads the engine's marks
(asterisk-conf/extensions.conf reads the lookups' ``CC_QUEUE`` only before ``Stasis``).

Engines before this one set three variables, ``CC_QUEUE``, ``CC_PRIORITY`` and
``CC_ENQUEUED_AT`` (the dialplan's ``enqueue`` AGI script still does): a restart right
after an upgrade finds channels marked that way, so `queued` reads those too when there
is no ``CC_QUEUED``.

Every field is parsed, never trusted: a queue name is any text (escaped here; the core
decides whether it exists), the priority an int, the time a finite float; a mark that
does not parse is ignored (logged), as if the caller had none.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

log = logging.getLogger(__name__)

MARK = "CC_QUEUED"
"""The channel variable of the mark."""
LEGACY = ("CC_QUEUE", "CC_PRIORITY", "CC_ENQUEUED_AT")
"""The three variables of the marks before `MARK` (also the enqueue AGI script's)."""
NAMES = (MARK, *LEGACY)
"""Every variable a restarted engine reads the mark from."""


@dataclass(frozen=True, slots=True)
class Queued:
    """Where a marked caller waits: its queue, priority and entry time (epoch seconds)."""

    queue: str
    priority: int | None
    """None: not marked (an old mark without ``CC_PRIORITY``): the arrival's rules decide."""
    at: str
    """The entry time as marked (``CC_AGENT`` names its entry by this very text)."""

    @property
    def entered(self) -> float:
        return float(self.at)


def entry_time(now: float) -> str:
    """An entry time as marked, to the millisecond."""
    return f"{now:.3f}"


def mark(queue: str, priority: int, entered: float) -> str:
    """The value of `MARK` for a caller that joined ``queue`` at ``entered``."""
    return urlencode({"queue": queue, "priority": priority, "at": entry_time(entered)})


def queued(variables: Mapping[str, str]) -> Queued | None:
    """The caller's place from its channel variables (`NAMES`, the set ones): the mark,
    else the three variables of an older engine; None when neither is there or valid."""
    value = variables.get(MARK)
    if value:
        found = _parse(value)
        if found is not None:
            return found
        log.warning("unreadable %s mark ignored value=%r", MARK, value[:200])
    queue, at = variables.get("CC_QUEUE"), variables.get("CC_ENQUEUED_AT")
    if not queue or at is None or _time(at) is None:
        return None
    return Queued(queue, _int(variables.get("CC_PRIORITY")), at)


def _parse(value: str) -> Queued | None:
    try:
        fields = parse_qs(value, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    queue, priority, at = (fields.get(name, [""])[-1] for name in ("queue", "priority", "at"))
    number = _int(priority)
    if not queue or number is None or _time(at) is None:
        return None
    return Queued(queue, number, at)


def _int(text: str | None) -> int | None:
    try:
        return int(text or "")
    except ValueError:
        return None


def _time(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None
