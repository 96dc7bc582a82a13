"""The one dispatcher: every core event, from every source, goes through one asyncio task.

ARI events (stasis), REST outcomes (executor), timers (clock) and requests from people
(log in, pause: `request`) are posted to one inbox. A single task takes them in
order, hands each to ``Router.handle``, passes the commands to the executor (which
only schedules I/O, never awaits it here), then to the journal and the log. The
router is only ever touched by this task, so the engine needs no locks.

Fail-safe: an exception while handling an event that belongs to a call is logged
with the call id and that call is handed to ``on_call_failed`` (the executor sends
the caller back to the dialplan); the next event is handled as usual.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.router import Router

log = logging.getLogger(__name__)


class Journal(Protocol):
    def record(self, event: ev.Event, commands: Sequence[cmd.Command]) -> None: ...


Skip = Callable[[cmd.Command], bool]
Handle = Callable[[ev.Event, Skip], list[cmd.Command]]
"""Within `exclusive`: handle one event now; commands `skip` selects are neither executed,
journaled nor logged. Returns every command; the core's exception is raised."""


def _keep(command: cmd.Command) -> bool:
    return False


@dataclass(slots=True)
class _Item:
    event: ev.Event | None
    reply: asyncio.Future[list[cmd.Command]] | None = None
    body: Callable[[Handle], None] | None = None


def call_of(item: ev.Event | cmd.Command) -> str:
    """The call an event or command is about, or "" (agent events, config, timers of agents)."""
    call = getattr(item, "call", "")
    if not call and isinstance(item, ev.TimerFired):
        call = item.key.call
    return call if isinstance(call, str) else ""


class Dispatcher:
    def __init__(
        self,
        router: Router,
        execute: Callable[[cmd.Command], None],
        on_call_failed: Callable[[str], None],
        journal: Journal | None = None,
    ) -> None:
        self.router = router
        self._execute = execute
        self._on_call_failed = on_call_failed
        self._journal = journal
        self._inbox: asyncio.Queue[_Item] = asyncio.Queue()
        self.handled = 0

    def post(self, event: ev.Event) -> None:
        """Queue an event; never blocks, callable from callbacks and other tasks."""
        self._inbox.put_nowait(_Item(event))

    async def request(self, event: ev.Event) -> list[cmd.Command]:
        """Queue an event and wait for its commands; the core's refusal is raised here."""
        reply: asyncio.Future[list[cmd.Command]] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(_Item(event, reply))
        return await reply

    async def exclusive(self, body: Callable[[Handle], None]) -> None:
        """Run ``body`` in the dispatcher's task, between two events: nothing else touches
        the router meanwhile (restart recovery feeds a whole batch this way)."""
        reply: asyncio.Future[list[cmd.Command]] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(_Item(None, reply, body))
        await reply

    @property
    def pending(self) -> int:
        return self._inbox.qsize()

    async def idle(self) -> None:
        """Until every event posted so far (and those they caused meanwhile) is handled."""
        await self._inbox.join()

    async def run(self) -> None:
        while True:
            item = await self._inbox.get()
            try:
                if item.body is not None and item.reply is not None:
                    self._run_body(item.body, item.reply)
                else:
                    self._handle(item)
            finally:
                self._inbox.task_done()

    def _run_body(
        self, body: Callable[[Handle], None], reply: asyncio.Future[list[cmd.Command]]
    ) -> None:
        try:
            body(self._handle_now)
        except Exception as exc:
            if not reply.done():
                reply.set_exception(exc)
            return
        if not reply.done():
            reply.set_result([])

    def _handle_now(self, event: ev.Event, skip: Skip = _keep) -> list[cmd.Command]:
        commands = self.router.handle(event)
        self.handled += 1
        self._carry_out(event, [c for c in commands if not skip(c)])
        return commands

    def _handle(self, item: _Item) -> None:
        event = item.event
        if event is None:
            return
        try:
            commands = self.router.handle(event)
        except Exception as exc:
            if item.reply is not None:
                if not item.reply.done():
                    item.reply.set_exception(exc)
                return
            call = call_of(event)
            log.exception("core failed event=%s call=%s", type(event).__name__, call or "-")
            if call:
                self._on_call_failed(call)
            return
        self.handled += 1
        if item.reply is not None and not item.reply.done():
            item.reply.set_result(commands)
        self._carry_out(event, commands)

    def _carry_out(self, event: ev.Event, commands: Sequence[cmd.Command]) -> None:
        for command in commands:
            self._log(command)
            try:
                self._execute(command)
            except Exception:
                call = call_of(command)
                log.exception("execute failed command=%r call=%s", command, call or "-")
                if call:
                    self._on_call_failed(call)
        if self._journal is not None:
            try:
                self._journal.record(event, commands)
            except Exception:  # the store must never stop routing
                log.exception("journal failed event=%s", type(event).__name__)

    @staticmethod
    def _log(command: cmd.Command) -> None:
        match command:
            case cmd.CallStateChanged(call=call, queue=queue, previous=p, state=s, trigger=t):
                log.info("call call=%s queue=%s %s -[%s]-> %s", call, queue, p, t, s)
            case cmd.AgentStateChanged(agent=agent, previous=p, state=s, cause=cause):
                log.info("agent agent=%s %s -[%s]-> %s", agent, p, cause, s)
            case cmd.QueueLog(call=call, queue=queue, agent=agent, verb=verb, data=data):
                log.info("queue_log call=%s queue=%s agent=%s verb=%s data=%s",
                         call, queue, agent, verb, "|".join(data))  # fmt: skip
            case _:
                log.debug("command %r", command)
