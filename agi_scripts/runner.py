"""Running one script on one session, fail-safe, the same way for both transports.

A caller must never be stranded: whatever goes wrong inside a script (the database is slow
or down, a bug, a reply we did not expect), the runner logs it, sets ``CC_STATUS=fallback``
and ``CC_ROUTE=<the configured fallback target>`` while the channel is still up, and ends
the session, so the dialplan continues at the next priority and routes on those variables.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from agi_scripts.session import AgiSession, ChannelHungUp, ConnectionClosed, MediaFailed

if TYPE_CHECKING:
    from callcenter.config import Config
    from callcenter.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")

#: Where callers go when a script cannot finish (dialplan reads ``CC_ROUTE``).
DEFAULT_FALLBACK = "dialplan:cc-fallback,s,1"


class StoreUnavailable(Exception):  # noqa: N818 - a state of the world
    """The store did not answer in time, or failed."""


@dataclass(slots=True)
class ScriptContext:
    """What scripts may use besides their session; shared by every session of a server."""

    store: Store | None = None
    config: Config | None = None
    clock: Callable[[], float] = time.time
    db_timeout: float = 1.0
    """Seconds a store call may take before the script falls back."""
    script_timeout: float = 900.0
    """Seconds a whole script may take (self-service menus included)."""
    fallback: str = DEFAULT_FALLBACK
    extras: dict[str, object] = field(default_factory=dict)

    async def db(self, call: Awaitable[T]) -> T:
        """Await a store call within ``db_timeout``; :class:`StoreUnavailable` otherwise."""
        if self.store is None:
            if asyncio.iscoroutine(call):
                call.close()
            raise StoreUnavailable("no store configured")
        try:
            async with asyncio.timeout(self.db_timeout):
                return await call
        except TimeoutError as exc:
            raise StoreUnavailable(f"store slower than {self.db_timeout:g} s") from exc
        except Exception as exc:  # driver errors of any kind: the caller must move on
            raise StoreUnavailable(f"store failed: {exc}") from exc

    def db_now(self, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A store read that never awaits (sqlite3 in the event loop, microseconds): no
        timeout to arm, since none could fire while it runs; the reader's busy timeout
        bounds a locked database instead. Failures are :class:`StoreUnavailable`."""
        try:
            return read(*args, **kwargs)
        except Exception as exc:
            raise StoreUnavailable(f"store failed: {exc}") from exc


Script = Callable[[AgiSession, ScriptContext], Awaitable[None]]


class Outcome(StrEnum):
    DONE = "done"
    HUNG_UP = "hung_up"  # the caller left; nothing to route
    CLOSED = "closed"  # the peer closed the connection under us
    FALLBACK = "fallback"  # failed; CC_ROUTE set to the fallback
    NOT_FOUND = "not_found"


async def run_script(
    name: str, session: AgiSession, context: ScriptContext, scripts: Mapping[str, Script]
) -> Outcome:
    """Run script ``name`` on ``session``; never raises for what happens on one call."""
    script = scripts.get(name)
    if script is None:
        log.warning("AGI script %r not found (known: %s)", name, ", ".join(sorted(scripts)))
        await _fall_back(session, context, "not_found")
        return Outcome.NOT_FOUND
    try:
        async with asyncio.timeout(context.script_timeout):
            await script(session, context)
    except ChannelHungUp:
        return Outcome.HUNG_UP
    except ConnectionClosed:
        return Outcome.CLOSED
    except (StoreUnavailable, MediaFailed) as exc:  # expected failures: no traceback
        log.warning("AGI %s on %s: %s; fallback", name, session.environment.get("channel"), exc)
        await _fall_back(session, context, "fallback")
        return Outcome.FALLBACK
    except Exception:  # any failure stays with this call
        log.exception("AGI %s on %s failed; fallback", name, session.environment.get("channel"))
        await _fall_back(session, context, "fallback")
        return Outcome.FALLBACK
    return Outcome.DONE


async def _fall_back(session: AgiSession, context: ScriptContext, status: str) -> None:
    """Best effort, briefly: the connection may be what failed."""
    if session.hung_up or session.broken:
        return
    try:
        async with asyncio.timeout(2.0):
            await session.set_variable("CC_STATUS", status)
            await session.set_variable("CC_ROUTE", context.fallback)
    except Exception as exc:  # the dialplan still continues when we close
        log.info("could not set the fallback route: %s", exc)
