"""Where a caller goes: on arrival, out of the menus, and to a target (the executor's part).

On arrival (``admit``) the caller is answered, its CC_* variables taken (the dialplan's
Stasis arguments, else one GET each) and the number's entry decided on the engine's
clock (entry.py): straight into a queue, or through the menus (menus.py) for ``ivr:``
and ``announcement:`` targets and switched-on notices.
A target (``send``) is then one of:

* ``queue``: the holding bridge of its music class (holding.py), the mark a restarted
  engine reads back (``CC_QUEUED``, marks.py),
  then ``CallEnqueued`` with the caller's attributes (the number's, vip, the language
  and the IVR path for the agent's screen);
* ``ivr`` / ``announcement``: the menus again (out of the holding bridge first);
* ``agent``: through the core like any queued caller (counted, in queue_log and the
  interaction row, the agent's state respected): the caller waits with music in the
  agent's first-choice queue, for that agent only, for `AGENT_WAIT` seconds (rung when
  the agent is free; waited for while it talks, wraps up or pauses), then for any agent
  of that queue, in its place in line (``CallEnqueued.agent``). An agent logged out or
  unreachable is not waited for. An agent in no queue is rung by the dialplan as below.
  The agent is marked (`AGENT_MARK`) for a restarted engine, which keeps waiting;
* ``hangup``; ``dialplan``: ARI ``continue`` to context,exten,priority (or label);
* ``voicemail`` / ``number``: ``continue`` to `TARGETS_CONTEXT`, extension
  ``voicemail``/``number`` (``agent`` for an agent in no queue), with ``CC_TARGET``
  naming the mailbox, the number or the agent's endpoint: ARI cannot run ``VoiceMail()``
  or ``Dial()`` itself, and the dialplan keeps the trunk and caller-id rules.
  ``continue`` leaves Stasis with only a StasisEnd (hold_mute_variables_continue.md).

``Routing`` is a part of ``Executor`` (its base class), as ``OnHold`` is of the core's
``Router``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ari_app.client import AriConnectionError, AriError, AriNotFoundError
from ari_app.client.bridges import Bridges
from ari_app.client.channels import Channels
from ari_app.client.pool import AriUnroutableError
from ari_app.engine.calls import Call, CallTable
from ari_app.engine.entry import VARIABLES, arrival_for
from ari_app.engine.holding import HoldingBridges, shared
from ari_app.engine.ivr import Exit
from ari_app.engine.marks import MARK, entry_time, mark
from ari_app.engine.menus import Menus
from callcenter.config import Config
from callcenter.core import events as ev
from callcenter.core.membership import first_choices
from callcenter.core.spec import Target, TargetKind

if TYPE_CHECKING:
    from ari_app.engine.executor import InteractionSink

log = logging.getLogger(__name__)

TARGETS_CONTEXT = "callcenter-targets"
"""The dialplan context for voicemail, number and agent targets (see the module doc)."""
AGENT_MARK = "CC_AGENT"
"""The agent a caller waits for, as ``<agent>@<entry time>`` (the time of its
``CC_QUEUED`` mark): a restarted engine honours it only for the entry it was made for
(a later entry leaves it stale)."""
AGENT_WAIT = 30.0
"""Seconds a caller who chose an agent waits for that agent only: as long as the
shipped dialplan's ``Dial(${CC_TARGET},30)`` rang it before agent targets went through
the core."""
MENU_KINDS = (TargetKind.IVR, TargetKind.ANNOUNCEMENT)
RESEND_AFTER = 5.0
"""Seconds before a caller that could not be sent on (its server unreachable) is sent
again, in case the server only timed out and no reconnect (resync) comes."""


class Routing:
    _first_choices: tuple[Config, dict[str, str]] | None = None
    """Each agent's first-choice queue, for the configuration it was worked out from."""
    _resends: dict[str, asyncio.TimerHandle]
    """Stranded callers' next attempt to send them on, by call (`_strand`)."""

    if TYPE_CHECKING:  # provided by Executor
        channels: Channels
        calls: CallTable
        bridges: Bridges
        config: Config
        menus: Menus
        holding: HoldingBridges
        interactions: InteractionSink | None
        _post: Callable[[ev.Event], None]
        _now: Callable[[], float]

        def _chain(self, call: str, step: Callable[[], Awaitable[None]]) -> None: ...
        async def _hold(self, record: Call) -> None: ...
        async def _unhold(self, record: Call) -> None: ...
        async def _hang_up(self, channel: str) -> None: ...
        async def _to_fallback(self, record: Call) -> None: ...
        async def _release_bridges(self, record: Call) -> None: ...
        def _forget(self, record: Call) -> None: ...
        def _music_class(self, record: Call) -> str | None: ...
        @staticmethod
        async def _quietly(request: Awaitable[None]) -> None: ...

    # -- arrival ----------------------------------------------------------------------------

    def admit(self, record: Call) -> None:
        self._chain(record.id, lambda: self._admit(record))

    async def _admit(self, record: Call) -> None:
        await self.channels.answer(record.channel)
        variables = record.passed
        if variables is None:  # not passed as Stasis arguments: read one by one
            values = await asyncio.gather(*(self._variable(record, n) for n in VARIABLES))
            variables = {n: value for n, value in zip(VARIABLES, values, strict=True) if value}
        if record.gone or record.leaving:
            return  # hung up while being answered
        now = self._now()
        moment = dt.datetime.fromtimestamp(now, dt.UTC)  # the engine's clock, not the wall's
        arrival = arrival_for(self.config, record.exten, variables, moment)
        record.lang = arrival.lang
        record.attributes = dict(arrival.attributes)
        record.priority = arrival.priority
        target = arrival.target
        if target is None:
            log.warning("no queue call=%s exten=%s: to the fallback", record.id, record.exten)
            record.leaving = True
            await self._to_fallback(record)
            self._forget(record)
            return
        if not arrival.open:
            log.info("closed call=%s exten=%s: to %s", record.id, record.exten, target)
        if arrival.notice or target.kind in MENU_KINDS:
            self.menus.start(record, self.config, target, now,
                             lang=arrival.lang, notice=arrival.notice)  # fmt: skip
        elif target.kind is TargetKind.QUEUE:
            await self._enqueue(record, target.value, now)
        else:
            self.send(record, target)

    async def _variable(self, record: Call, name: str) -> str | None:
        try:
            return await self.channels.get_variable(record.channel, name)
        except AriError:
            return None  # not set: 404 "Provided variable was not found"

    def _menu_exit(self, record: Call, exit: Exit) -> None:
        """The menus are done with the caller: the language and path go with it."""
        chosen = exit.lang is not None and exit.lang != record.lang
        record.lang = exit.lang
        if exit.lang:
            record.attributes["lang"] = exit.lang
        if exit.path:
            record.ivr_path = exit.path_text
            record.attributes["ivr_path"] = record.ivr_path
            if self.interactions is not None:
                self.interactions.interaction(record.id, ivr_path=record.ivr_path)
        if chosen and exit.lang:
            # The dialplan's own prompts (voicemail, self-service) follow the choice too.
            lang = exit.lang
            self._chain(record.id, lambda: self.channels.set_variable(
                record.channel, "CHANNEL(language)", lang))  # fmt: skip
        self.send(record, exit.target)

    async def _enqueue(
        self, record: Call, queue: str, now: float | None = None, *, agent: str = ""
    ) -> None:
        """Into a holding bridge with music, then the core's line (for ``agent`` only, at
        first, when given)."""
        if record.gone or record.leaving:
            return
        now = self._now() if now is None else now
        self.requeued(record, queue)  # from another queue: this one's music
        channel = record.channel
        marks = [
            # Read back after a restart to rebuild the line in its order (issue 3, part 4):
            # queue, priority and entry time in one request (marks.py).
            self.channels.set_variable(channel, MARK, mark(queue, record.priority, now)),
        ]
        if record.ivr_path and record.lang:
            marks.append(self.channels.set_variable(channel, "CC_LANG", record.lang))
        if agent:  # the agent it waits for, tied to this entry (recovery.py: wanted_agent)
            marks.append(self.channels.set_variable(channel, AGENT_MARK,
                                                    f"{agent}@{entry_time(now)}"))  # fmt: skip
        await asyncio.gather(self._hold(record), *marks)
        if record.gone or record.leaving:
            return
        wait = AGENT_WAIT if agent else 0.0
        self._post(ev.CallEnqueued(now, record.id, queue, record.number,
                                   dict(record.attributes), record.priority,
                                   agent=agent, agent_wait=wait))  # fmt: skip

    def requeued(self, record: Call, queue: str) -> None:
        """A waiting caller now waits in ``queue`` (a supervisor's move, an overflow to a
        queue) with that queue's music from now on: swapped into the holding bridge of
        its music class when that differs (never out of the music). Its prompts follow
        by themselves (the core schedules the new queue's)."""
        before = self._music_class(record)
        record.queue = queue
        if record.holding is not None and self._music_class(record) != before:
            self._chain(record.id, lambda: self._restart_music(record))

    async def _restart_music(self, record: Call) -> None:
        holding = record.holding
        if holding is None or record.gone:
            return  # a booked callback (no channel), or not in a holding bridge (yet)
        if shared(holding):  # over to the bridge playing the new class (a swap)
            record.holding = await self.holding.join(
                record.server, self._music_class(record), record.channel
            )
            return
        # A bridge of its own (holding.py): stop, then start. Stopping hangs up the
        # bridge's hidden announcer channel and starting makes a new one, playing the
        # class asked for. A start on a bridge that plays already reuses its announcer
        # (res_ari's stasis_app_bridge_moh_channel); the traces do not show whether that
        # switches the class, a new announcer does.
        await self._quietly(self.bridges.stop_moh(holding))
        await self.bridges.start_moh(holding, self._music_class(record))

    # -- targets -----------------------------------------------------------------------------

    def send(self, record: Call, target: Target | None) -> None:
        """Send a caller in Stasis on to ``target`` (None: the engine's fallback)."""
        if target is not None and target.kind is TargetKind.QUEUE:
            self._chain(record.id, lambda: self._enqueue(record, target.value))
        elif (
            target is not None
            and target.kind is TargetKind.AGENT
            and (queue := self._agent_queue(target.value))
        ):
            log.info("for agent call=%s agent=%s queue=%s", record.id, target.value, queue)
            self._chain(record.id, lambda: self._enqueue(record, queue, agent=target.value))
        elif target is not None and target.kind in MENU_KINDS:
            if record.holding is not None:  # from a queue: out of the music first
                self._chain(record.id, lambda: self._unhold(record))
            self.menus.start(record, self.config, target, self._now(), lang=record.lang)
        else:
            record.leaving = True
            self._chain(record.id, lambda: self._send_on(record, target))

    def _agent_queue(self, agent: str) -> str | None:
        """Where a caller for ``agent`` waits: the agent's first-choice queue (None: the
        agent is in no queue, or unknown)."""
        config = self.config
        if self._first_choices is None or self._first_choices[0] is not config:
            self._first_choices = (config, first_choices(config.routing_spec()))
        return self._first_choices[1].get(agent)

    async def _send_on(self, record: Call, target: Target | None) -> None:
        """Out of Stasis: hung up, or on into the dialplan."""
        try:
            await self._hand_off(record, target)
        except (AriConnectionError, AriUnroutableError) as exc:
            self._strand(record, target, exc)
            return
        except AriNotFoundError:  # hung up meanwhile: nothing left to send on
            log.info("caller gone before being sent on call=%s", record.id)
        await self._release_bridges(record)
        self._forget(record)

    def _strand(self, record: Call, target: Target | None, exc: AriError) -> None:
        """The caller could not be sent on: its server is unreachable. The call stays
        known (music on hold goes on in Asterisk) and is sent again (`resend`) at the
        server's resync, or after `RESEND_AFTER` if the server only timed out, instead
        of a known channel being left in Stasis with nobody serving it."""
        record.stranded, record.resend = True, target
        log.warning("caller not sent on call=%s server=%s target=%s error=%s: "
                    "again in %.0f s or at the reconnect",
                    record.id, record.server, target, exc, RESEND_AFTER)  # fmt: skip
        loop = asyncio.get_running_loop()
        self._resends[record.id] = loop.call_later(RESEND_AFTER, lambda: self.resend(record))

    def resend(self, record: Call, *, caller_there: bool = True) -> None:
        """Send a stranded caller on again: its server is back (and the caller hung up
        meanwhile unless ``caller_there``: then only the call's bridges are left)."""
        if (timer := self._resends.pop(record.id, None)) is not None:
            timer.cancel()
        if not record.stranded or self.calls.get(record.id) is not record:
            return
        record.stranded = False
        if caller_there:
            log.info("caller sent on again call=%s target=%s", record.id, record.resend)
            self._chain(record.id, lambda: self._send_on(record, record.resend))
            return

        async def gone() -> None:
            await self._release_bridges(record)
            self._forget(record)

        log.info("stranded caller gone while disconnected call=%s", record.id)
        self._chain(record.id, gone)

    async def _hand_off(self, record: Call, target: Target | None) -> None:
        kind = target.kind if target is not None else None
        if target is None:
            await self._to_fallback(record)
        elif kind is TargetKind.HANGUP:
            await self._hang_up(record.channel)
        elif kind is TargetKind.DIALPLAN:
            context, _, rest = target.value.partition(",")
            exten, _, priority = rest.partition(",")
            label = priority if priority and not priority.isdigit() else None
            number = int(priority) if priority.isdigit() else None
            await self.channels.continue_in_dialplan(
                record.channel, context, exten or None, number, label
            )
        elif kind in (TargetKind.VOICEMAIL, TargetKind.NUMBER, TargetKind.AGENT):
            await self._to_targets_context(record, target)
        else:
            await self._to_fallback(record)

    async def _to_targets_context(self, record: Call, target: Target) -> None:
        value = target.value
        if target.kind is TargetKind.AGENT:
            agent = self.config.agents.get(value)
            if agent is None:
                log.warning("unknown agent target call=%s agent=%s", record.id, value)
                await self._to_fallback(record)
                return
            value = agent.endpoint
        await self.channels.set_variable(record.channel, "CC_TARGET", value)
        # `continue` leaves Stasis: only StasisEnd follows (hold_mute_variables_continue.md).
        await self.channels.continue_in_dialplan(
            record.channel, TARGETS_CONTEXT, str(target.kind), 1
        )
