"""Where a caller goes: on arrival, out of the menus, and to a target (the executor's part).

On arrival (``admit``) the caller is answered, its CC_* variables taken (the dialplan's
Stasis arguments, else one GET each) and the number's entry decided on the engine's
clock (entry.py): straight into a queue, or through the menus (menus.py) for ``ivr:``
and ``announcement:`` targets and switched-on notices.
A target (``send``) is then one of:

* ``queue``: a holding bridge with music, the CC_* marks a restarted engine reads back,
  then ``CallEnqueued`` with the caller's attributes (the number's, vip, the language
  and the IVR path for the agent's screen);
* ``ivr`` / ``announcement``: the menus again (out of the holding bridge first);
* ``hangup``; ``dialplan``: ARI ``continue`` to context,exten,priority (or label);
* ``voicemail`` / ``number`` / ``agent``: ``continue`` to `TARGETS_CONTEXT`, extension
  ``voicemail``/``number``/``agent``, with ``CC_TARGET`` naming the mailbox, the number or
  the agent's endpoint: ARI cannot run ``VoiceMail()`` or ``Dial()`` itself, and the
  dialplan keeps the trunk and caller-id rules. ``continue`` leaves Stasis with only a
  StasisEnd (hold_mute_variables_continue.md).

``Routing`` is a part of ``Executor`` (its base class), as ``OnHold`` is of the core's
``Router``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ari_app.client import AriError
from ari_app.client.channels import Channels
from ari_app.engine.calls import Call
from ari_app.engine.entry import VARIABLES, arrival_for
from ari_app.engine.ivr import Exit
from ari_app.engine.menus import Menus
from callcenter.config import Config
from callcenter.core import events as ev
from callcenter.core.spec import Target, TargetKind

if TYPE_CHECKING:
    from ari_app.engine.executor import InteractionSink

log = logging.getLogger(__name__)

TARGETS_CONTEXT = "callcenter-targets"
"""The dialplan context for voicemail, number and agent targets (see the module doc)."""
MENU_KINDS = (TargetKind.IVR, TargetKind.ANNOUNCEMENT)


class Routing:
    if TYPE_CHECKING:  # provided by Executor
        channels: Channels
        config: Config
        menus: Menus
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

    async def _enqueue(self, record: Call, queue: str, now: float | None = None) -> None:
        """Into a holding bridge with music, then the core's line."""
        if record.gone or record.leaving:
            return
        now = self._now() if now is None else now
        record.queue = queue
        channel = record.channel
        marks = [
            # Read back after a restart to rebuild the line in its order (issue 3, part 4).
            self.channels.set_variable(channel, "CC_QUEUE", queue),
            self.channels.set_variable(channel, "CC_PRIORITY", str(record.priority)),
            self.channels.set_variable(channel, "CC_ENQUEUED_AT", f"{now:.3f}"),
        ]
        if record.ivr_path and record.lang:
            marks.append(self.channels.set_variable(channel, "CC_LANG", record.lang))
        await asyncio.gather(self._hold(record), *marks)
        if record.gone or record.leaving:
            return
        self._post(ev.CallEnqueued(now, record.id, queue, record.number,
                                   dict(record.attributes), record.priority))  # fmt: skip

    # -- targets -----------------------------------------------------------------------------

    def send(self, record: Call, target: Target | None) -> None:
        """Send a caller in Stasis on to ``target`` (None: the engine's fallback)."""
        if target is not None and target.kind is TargetKind.QUEUE:
            self._chain(record.id, lambda: self._enqueue(record, target.value))
        elif target is not None and target.kind in MENU_KINDS:
            if record.holding is not None:  # from a queue: out of the music first
                self._chain(record.id, lambda: self._unhold(record))
            self.menus.start(record, self.config, target, self._now(), lang=record.lang)
        else:
            record.leaving = True
            self._chain(record.id, lambda: self._send_on(record, target))

    async def _send_on(self, record: Call, target: Target | None) -> None:
        """Out of Stasis: hung up, or on into the dialplan."""
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
        await self._release_bridges(record)
        self._forget(record)

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
