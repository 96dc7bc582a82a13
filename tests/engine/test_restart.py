"""SIGKILL mid-traffic, then a new engine on the same (simulated) Asterisk: the waiting
callers keep their order and wait, the talking call goes on and completes, the leg that
was ringing is hung up before its caller is offered again, and nobody is lost."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from ari_app.engine import Engine, EngineSettings
from ari_app.engine.marks import MARK, Queued, mark
from ari_app.engine.recovery import stored_sessions
from callcenter.config import Config, load_config
from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.store import Store, StoreWriter
from callcenter.store.journal import Journal
from sim import Answer, Endpoints, NoAnswer, SimAsterisk, SimServer, Unregistered
from sim.model import Channel
from tests.engine.conftest import CONFIG, until
from tests.engine.marked import marked, marked_queue

# Long rings here: a leg still rings when the engine dies.
RESTART_CONFIG = CONFIG.replace("ring_timeout: 1", "ring_timeout: 5")


async def kill(engine: Engine) -> None:
    """As SIGKILL would: every task of the engine stops where it is, nothing is cleaned up
    on Asterisk (the websocket closes, as the kernel closes a dead process's sockets)."""
    tasks = [*engine._tasks, *engine.executor._tails.values()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    engine.clock.cancel_all()  # its timers died with it


@dataclass
class Site:
    ast: SimAsterisk
    server: SimServer
    config: Config
    settings: EngineSettings
    store: Store
    writer: StoreWriter

    async def engine(self) -> Engine:
        engine = Engine(self.settings, self.config, journal=Journal(self.writer))
        await engine.start(connect_timeout=5)
        return engine

    async def queue_log(self, call: str) -> list[str]:
        await self.writer.flush()
        return [line.verb for line in await self.store.queue_log(call=call)]

    def index(self, type_: str, channel: str) -> int:
        """Where in the event log `channel`'s first `type_` event is."""
        for i, event in enumerate(self.ast.bus.log):
            ids = (event.get("channel", {}).get("id"), event.get("peer", {}).get("id"))
            if event["type"] == type_ and channel in ids:
                return i
        raise AssertionError(f"no {type_} for {channel}")


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "center.yaml").write_text(textwrap.dedent(RESTART_CONFIG), encoding="utf-8")
    ast = SimAsterisk(endpoints=Endpoints())
    server = await SimServer(ast).start()
    settings = EngineSettings(
        ari_url=server.url, ari_password=SecretStr("secret"), config_dir=str(conf),
        login_agents=("1001", "1002"), config_poll_interval=0,
    )  # fmt: skip
    async with (
        await Store.open(tmp_path / "cc.db") as store,
        StoreWriter(store, flush_interval=0.01) as writer,
    ):
        try:
            yield Site(ast, server, load_config(conf), settings, store, writer)
        finally:
            await server.close()


def bridge_of(ast: SimAsterisk, channel: str) -> tuple[str, bool] | None:
    live = ast.channels.get(channel)
    if live is None or live.bridge is None:
        return None
    bridge = ast.bridges[live.bridge]
    return bridge.bridge_type, bridge.moh


def together(ast: SimAsterisk, a: str, b: str) -> bool:
    first, second = ast.channels.get(a), ast.channels.get(b)
    return bool(first and second and first.bridge and first.bridge == second.bridge)


def dials(site: Site, endpoint: str) -> list[str]:
    return [
        e["peer"]["id"]
        for e in site.ast.bus.log
        if e["type"] == "Dial" and e["dialstatus"] == ""
        and e["peer"]["name"].startswith(endpoint + "-")
    ]  # fmt: skip


async def test_sigkill_restart_keeps_order_waits_and_the_talking_call(site: Site) -> None:
    ast = site.ast
    ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    ast.endpoints.set("PJSIP/1002", NoAnswer())
    first = await site.engine()

    talking = ast.inject_caller("800", args=("inbound", "800"))
    await until(lambda: dials(site, "PJSIP/1001"))
    (agent_leg,) = dials(site, "PJSIP/1001")
    await until(lambda: together(site.ast, talking.id, agent_leg))
    rung = ast.inject_caller("800", args=("inbound", "800"))  # rings 1002, who never answers
    await until(lambda: dials(site, "PJSIP/1002"))
    (ringing_leg,) = dials(site, "PJSIP/1002")
    waiting = [ast.inject_caller("800", args=("inbound", "800")) for _ in range(3)]
    await until(lambda: len(first.router.line("sales")) == 4)
    assert first.router.line("sales") == [rung.id] + [c.id for c in waiting]
    entered = {c: first.router.calls[c].entered for c in first.router.line("sales")}

    await kill(first)
    await until(lambda: not ast.bus.connected("callcenter"))
    assert ringing_leg in ast.channels  # still ringing: nobody hung it up
    ast.endpoints.set("PJSIP/1002", Answer(after=0.05))  # 1002 answers from now on

    second = await site.engine()
    try:
        # The leg that rang is gone before 1002 is rung again, for the same caller.
        await until(lambda: len(dials(site, "PJSIP/1002")) == 2)
        new_leg = dials(site, "PJSIP/1002")[1]
        assert site.index("ChannelDestroyed", ringing_leg) < site.index("Dial", new_leg)
        await until(lambda: together(site.ast, rung.id, new_leg))
        # The others wait, in their order, with their original entry times.
        assert second.router.line("sales") == [c.id for c in waiting]
        for call in second.router.line("sales"):
            assert second.router.calls[call].entered == pytest.approx(entered[call], abs=1e-3)
        for caller in waiting:
            assert bridge_of(site.ast, caller.id) == ("holding", True)
        # A newcomer waits with them, in the holding bridge the first engine made (its
        # creation answered 409: holding.py).
        holding = ast.channels[waiting[0].id].bridge
        newcomer = ast.inject_caller("800", args=("inbound", "800"))
        await until(lambda: newcomer.id in second.router.line("sales"))
        await second.idle()
        assert ast.channels[newcomer.id].bridge == holding
        assert holding is not None
        assert sorted(ast.bridges[holding].channels) == sorted(
            [*(c.id for c in waiting), newcomer.id]
        )
        # The talking call was adopted: still bridged, the agent on the call.
        assert together(site.ast, talking.id, agent_leg)
        assert str(second.router.agent_state("1001")) == "on_call"
        assert len(dials(site, "PJSIP/1001")) == 1  # nobody rung twice

        ast.remote_hangup(talking.id)
        await until(lambda: agent_leg not in ast.channels)
        # Nobody lost: 1001 is free again and takes the longest waiting caller.
        after = [*(c.id for c in waiting[1:]), newcomer.id]
        await until(lambda: second.router.line("sales") == after)
        await second.idle()
        assert await site.queue_log(talking.id) == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
        assert await site.queue_log(rung.id) == ["ENTERQUEUE", "CONNECT"]
        # No second ENTERQUEUE for a restored caller.
        assert await site.queue_log(waiting[0].id) == ["ENTERQUEUE", "CONNECT"]
        for caller in waiting[1:]:
            assert await site.queue_log(caller.id) == ["ENTERQUEUE"]
        assert all(c.id in ast.channels for c in waiting)
    finally:
        await second.stop()
        await first.executor.aclose()
        await first.client.aclose()


async def test_reconnect_settles_what_happened_while_disconnected(site: Site) -> None:
    """Same engine, lost websocket: hang-ups Asterisk did not replay are found on resync."""
    ast = site.ast
    ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    ast.endpoints.set("PJSIP/1002", NoAnswer())
    engine = await site.engine()
    try:
        talking = ast.inject_caller("800", args=("inbound", "800"))
        await until(lambda: dials(site, "PJSIP/1001"))
        (agent_leg,) = dials(site, "PJSIP/1001")
        await until(lambda: together(ast, talking.id, agent_leg))
        rung = ast.inject_caller("800", args=("inbound", "800"))
        await until(lambda: dials(site, "PJSIP/1002"))
        left = ast.inject_caller("800", args=("inbound", "800"))
        await until(lambda: len(engine.router.line("sales")) == 2)

        for writer in list(site.server._writers):  # the network drops every connection
            writer.transport.abort()
        await until(lambda: not ast.bus.connected("callcenter"))
        ast.remote_hangup(left.id)  # nobody hears these two hang-ups
        ast.remote_hangup(agent_leg)
        await until(lambda: ast.bus.connected("callcenter"))

        await until(lambda: talking.id not in ast.channels)  # the agent's hang-up ends it
        await until(lambda: engine.router.line("sales") == [rung.id])
        await engine.idle()
        assert await site.queue_log(talking.id) == ["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"]
        assert await site.queue_log(left.id) == ["ENTERQUEUE", "ABANDON"]
        assert rung.id in ast.channels
    finally:
        await engine.stop()


async def test_sigkill_restart_logs_agents_back_in_with_their_pause(site: Site) -> None:
    """Agents logged in from consoles (not ``login_agents``) come back after a restart,
    from the store's open sessions: paused with their reason, ready, or still logged out."""
    settings = site.settings.model_copy(update={"login_agents": ()})

    async def engine() -> Engine:
        started = Engine(settings, site.config, journal=Journal(site.writer),
                         sessions=lambda: stored_sessions(site.store))  # fmt: skip
        await started.start(connect_timeout=5)
        return started

    site.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    first = await engine()
    await first.login("1001")
    await first.login("1002")
    await first.pause("1002", "missed")
    await first.login("1003")
    await first.logout("1003")
    await first.idle()
    await site.writer.flush()  # the journal's rows are what survives the process
    await kill(first)
    await until(lambda: not site.ast.bus.connected("callcenter"))

    second = await engine()
    try:
        await second.idle()
        router = second.router
        assert str(router.agent_state("1001")) == "ready"
        assert str(router.agent_state("1002")) == "paused"
        assert router.agents["1002"].pause_reason == "missed"
        assert str(router.agent_state("1003")) == "logged_out"
        caller = site.ast.inject_caller("800", args=("inbound", "800"))
        await until(lambda: dials(site, "PJSIP/1001"))
        assert dials(site, "PJSIP/1002") == []  # paused: offered nothing
        await until(lambda: str(router.agent_state("1001")) == "on_call")
        assert caller.id in site.ast.channels
        # The store's sessions stay consistent: one open session per logged-in agent.
        await second.idle()
        await site.writer.flush()
        assert set(await site.store.logged_in_agents()) == {"1001", "1002"}
    finally:
        await second.stop()
        await first.executor.aclose()
        await first.client.aclose()


async def test_a_stored_pause_reason_no_longer_configured_leaves_the_agent_out(
    site: Site,
) -> None:
    async def sessions() -> dict[str, str | None]:
        return {"1001": "gone-reason", "1002": None, "9999": None}

    settings = site.settings.model_copy(update={"login_agents": ()})
    engine = Engine(settings, site.config, journal=Journal(site.writer), sessions=sessions)
    await engine.start(connect_timeout=5)
    try:
        await engine.idle()
        assert str(engine.router.agent_state("1001")) == "logged_out"  # never ready by surprise
        assert str(engine.router.agent_state("1002")) == "ready"
    finally:
        await engine.stop()


async def test_a_talking_call_of_an_accept_mode_queue_is_adopted(site: Site) -> None:
    conf = Path(site.settings.config_dir)
    text = (conf / "center.yaml").read_text(encoding="utf-8")
    accepting = text.replace("  sales:\n", "  sales:\n    accept: true\n", 1)
    (conf / "center.yaml").write_text(accepting, encoding="utf-8")
    config = load_config(conf)
    assert config.routing_spec().queues["sales"].accept
    site.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))

    async def engine() -> Engine:
        started = Engine(site.settings, config, journal=Journal(site.writer))
        await started.start(connect_timeout=5)
        return started

    first = await engine()
    talking = site.ast.inject_caller("800", args=("inbound", "800"))
    await until(lambda: str(first.router.agent_state("1001")) == "ringing")
    await first.dispatcher.request(ev.AgentAccepted(first.now(), talking.id, "1001"))
    await until(lambda: dials(site, "PJSIP/1001"))
    (leg,) = dials(site, "PJSIP/1001")
    await until(lambda: together(site.ast, talking.id, leg))
    await kill(first)
    await until(lambda: not site.ast.bus.connected("callcenter"))

    second = await engine()
    try:
        await second.idle()
        assert str(second.router.agent_state("1001")) == "on_call"
        assert together(site.ast, talking.id, leg)
        site.ast.remote_hangup(talking.id)
        await until(lambda: leg not in site.ast.channels)
        await second.idle()
        assert await site.queue_log(talking.id) == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    finally:
        await second.stop()
        await first.executor.aclose()
        await first.client.aclose()


# -- after an upgrade: channels marked the old way (marks.py) ----------------------------------

SUPPORT = ("inbound", "800", "CC_QUEUE=support", "CC_PRIORITY=", "CC_VIP=", "CC_LANG=")
"""A caller the dialplan sends to support, whose member (1003) is not logged in: it waits."""


def _mark_the_old_way(channel: Channel, queue: str, priority: str, entered: float) -> None:
    """As the engine before the single mark left a waiting caller's channel."""
    del channel.variables[MARK]
    channel.variables.update(
        {"CC_QUEUE": queue, "CC_PRIORITY": priority, "CC_ENQUEUED_AT": f"{entered:.3f}"}
    )


async def test_callers_marked_the_old_way_are_restored_in_their_place(site: Site) -> None:
    ast = site.ast
    for agent in ("1001", "1002"):
        ast.endpoints.set(f"PJSIP/{agent}", Unregistered())
    first = await site.engine()
    callers = [ast.inject_caller("800", args=SUPPORT) for _ in range(4)]
    await until(lambda: all(marked_queue(c.variables) for c in callers))
    await until(lambda: len(first.router.line("support")) == 4)
    await kill(first)
    await until(lambda: not ast.bus.connected("callcenter"))

    old, vip, both, new = callers
    now = marked(new.variables).entered
    _mark_the_old_way(old, "support", "0", now - 30)
    _mark_the_old_way(vip, "support", "5", now - 10)
    # Marked the old way (another queue, earlier), then by the new version: the new mark.
    both.variables.update({"CC_QUEUE": "sales", "CC_PRIORITY": "9", "CC_ENQUEUED_AT": "1.000"})
    both.variables[MARK] = mark("support", 0, now - 20)

    second = await site.engine()
    try:
        await until(lambda: len(second.router.line("support")) == 4)
        router = second.router
        # The priority first, then the entry times as marked, old way or new.
        assert router.line("support") == [vip.id, old.id, both.id, new.id]
        entered = {c.id: router.calls[c.id].entered for c in callers}
        assert entered == pytest.approx(
            {old.id: now - 30, vip.id: now - 10, both.id: now - 20, new.id: now}, abs=1e-3
        )
        assert (router.calls[vip.id].priority, router.calls[old.id].priority) == (5, 0)
        # The engine's call keeps the restored priority: a later mark (a move) carries it.
        record = second.calls.get(vip.id)
        assert record is not None
        assert record.priority == 5
        second.executor.execute(cmd.QueueChanged(vip.id, "support", now - 10))
        await second.executor.idle()
        assert marked(vip.variables) == Queued("support", 5, f"{now - 10:.3f}")
    finally:
        await second.stop()


async def test_a_caller_with_an_unreadable_mark_is_admitted_again(site: Site) -> None:
    ast = site.ast
    for agent in ("1001", "1002"):
        ast.endpoints.set(f"PJSIP/{agent}", Unregistered())
    first = await site.engine()
    caller = ast.inject_caller("800", args=SUPPORT)
    await until(lambda: caller.id in first.router.line("support"))
    before = marked(caller.variables).entered
    await kill(first)
    await until(lambda: not ast.bus.connected("callcenter"))
    caller.variables[MARK] = "queue=support&priority=1&at=later"  # not a time

    second = await site.engine()
    try:
        # A new arrival: the number's queue (the Stasis arguments are not read again), a
        # new entry and a new, readable mark; never lost.
        await until(lambda: caller.id in second.router.line("sales"))
        await second.executor.idle()
        place = marked(caller.variables)
        assert place.queue == "sales"
        assert place.entered >= before
    finally:
        await second.stop()
