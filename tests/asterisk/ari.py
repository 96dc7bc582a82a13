"""Talking to the private Asterisk over ARI with our own client (``ari_app.client``).

* :func:`stasis_app` registers a Stasis application (an events websocket) and records its
  events in an :class:`EventLog`; tests standing in for the engine register ``callcenter``.
* :func:`originate_caller` makes a test caller: ``Local/<exten>@from-test`` originated by
  ARI. The ``;1`` half enters :data:`CALLER_APP` (so a test can hang it up, or send DTMF
  on it, which the ``;2`` half receives as the caller's keys); the ``;2`` half runs the
  dialplan of ``from-test`` (see :data:`FROM_TEST`) like a call from the carrier.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

from ari_app.client import AriClient, AriEvent, AriServer, Snapshot

#: The Stasis application the test callers' ``;1`` halves enter (not the engine's).
CALLER_APP = "cc-test-caller"

#: The dialplan the ``;2`` half runs: variables set at originate reach it, because a Local
#: channel copies the ``;1`` half's variables to the ``;2`` half when it is called
#: (core_unreal.c, ast_unreal_call_setup). ``TEST_CALLER`` sets the caller number the way a
#: trunk would; ``TEST_ANSWER=yes`` answers first (the ``;1`` half enters its Stasis app only
#: once answered, and DTMF needs it there).
FROM_TEST = """
[from-test]
exten => _X.,1,Goto(from-test-run,${EXTEN},1)
exten => _[a-z]!,1,Goto(from-test-run,${EXTEN},1)

; Test-only scripts (tests/asterisk/agi_server.py).
[test-wait-then-play]
exten => s,1,AGI(${FASTAGI}/wait_then_play)
 same => n,Hangup()

[test-play-missing]
exten => s,1,AGI(${FASTAGI}/play_missing)
 same => n,Stasis(callcenter,played)
 same => n,Hangup()

[from-test-run]
exten => _[0-9a-z]!,1,ExecIf($["${TEST_CALLER}" != ""]?Set(CALLERID(num)=${TEST_CALLER}))
 same => n,ExecIf($["${TEST_ANSWER}" = "yes"]?Answer())
 same => n,Goto(${IF($["${TEST_CONTEXT}" = ""]?callcenter-inbound:${TEST_CONTEXT})},${EXTEN},1)
"""


@dataclass(frozen=True, slots=True)
class AriCredentials:
    """Where a test (or the engine under test) reaches the private Asterisk's ARI."""

    url: str
    user: str
    password: str

    def server(self, app: str, requests: str = "auto") -> AriServer:
        return AriServer(
            "test-asterisk", self.url, self.user, self.password, app=app, requests=requests
        )


@dataclass(slots=True)
class EventLog:
    """Every event one app received, in order, and a way to wait for the next one."""

    events: list[AriEvent] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_event(self, event: AriEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[AriEvent], bool], within: float = 10.0
    ) -> AriEvent:
        """The first event (already received or still to come) that ``predicate`` accepts."""
        seen = 0
        async with asyncio.timeout(within):
            while True:
                for event in self.events[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.events)
                self._changed.clear()
                await self._changed.wait()

    def of(self, event_type: str, channel_id: str) -> Callable[[AriEvent], bool]:
        """A predicate: an event of ``event_type`` about channel ``channel_id``."""

        def matches(event: AriEvent) -> bool:
            channel = getattr(event, "channel", None)
            return event.type == event_type and getattr(channel, "id", None) == channel_id

        return matches


async def _no_resync(_snapshot: Snapshot) -> None:
    return None


@contextlib.asynccontextmanager
async def stasis_app(
    credentials: AriCredentials, app: str, *, requests: str = "auto"
) -> AsyncIterator[tuple[AriClient, EventLog]]:
    """A registered Stasis app ``app``: its client (its writes sent as ``requests`` says:
    ``AriServer.requests``) and its events."""
    log = EventLog()
    server = credentials.server(app, requests)
    client = AriClient(server, on_event=log.on_event, on_resync=_no_resync)
    task = asyncio.create_task(client.run())
    try:
        async with asyncio.timeout(10):
            await client.connected.wait()
        yield client, log
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()


@dataclass(frozen=True, slots=True)
class LocalCaller:
    """A test caller: ``caller`` is the ``;1`` half (in :data:`CALLER_APP` once answered),
    ``inbound`` the ``;2`` half that runs the dialplan."""

    caller: str
    inbound: str


async def originate_caller(
    client: AriClient,
    exten: str,
    *,
    context: str = "callcenter-inbound",
    caller_number: str = "",
    answer: bool = False,
    variables: Mapping[str, str] | None = None,
) -> LocalCaller:
    """Originate ``Local/<exten>@from-test`` into ``context`` (``client`` is registered as
    :data:`CALLER_APP`). Channel ids are chosen here so a test knows both halves at once."""
    token = secrets.token_hex(6)
    call = LocalCaller(caller=f"test-{token}-caller", inbound=f"test-{token}-inbound")
    sent = {"TEST_CONTEXT": context, **(variables or {})}
    if caller_number:
        sent["TEST_CALLER"] = caller_number
    if answer:
        sent["TEST_ANSWER"] = "yes"
    await client.channels.originate(
        f"Local/{exten}@from-test",
        app=CALLER_APP,
        app_args="caller",
        channel_id=call.caller,
        other_channel_id=call.inbound,
        caller_id=caller_number or None,
        variables=sent,
    )
    return call
