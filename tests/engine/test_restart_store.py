"""SIGKILL and restart with the store as the engine runs it (``bookings.keep_in_store``):

* lines the dead engine decided but its store writer had not written yet (the writer
  batches them) are written by the restarted engine, those already written are not
  written again;
* a booked callback (the caller hung up, keeping the place in line: Asterisk has no
  channel of it) comes back in line at its place and is served in turn, the agent
  first, then the customer.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from ari_app.engine import Engine, EngineSettings
from ari_app.engine.bookings import keep_in_store
from callcenter.config import Config, load_config
from callcenter.core import events as ev
from callcenter.core.states import CallState
from callcenter.store import Store, StoreWriter
from callcenter.store.journal import Journal
from callcenter.store.restart import StoredRecords
from sim import Answer, CallerId, Endpoints, SimAsterisk, SimServer, Sounds
from tests.engine.bridges import in_use
from tests.engine.conftest import until
from tests.engine.test_restart import RESTART_CONFIG, kill, together
from tests.engine.voice_rig import CONFIG as VOICE_CONFIG
from tests.engine.voice_rig import LONG


@dataclass
class Site:
    ast: SimAsterisk
    config: Config
    settings: EngineSettings
    store: Store
    writer: StoreWriter

    async def engine(self, writer: StoreWriter | None = None) -> Engine:
        """An engine as ``callcenter engine`` runs it with its store (app.serve)."""
        writer = writer or self.writer
        engine = Engine(self.settings, self.config, journal=Journal(writer))
        engine.executor.interactions = writer
        keep_in_store(engine, self.store, writer)
        await engine.start(connect_timeout=5)
        return engine

    async def verbs(self, call: str) -> list[str]:
        await self.writer.flush()
        return [line.verb for line in await self.store.queue_log(call=call)]


async def stop_dead(engine: Engine) -> None:
    """What is left of a killed engine in this test process: its REST clients."""
    await engine.executor.aclose()
    await engine.client.aclose()


def dials(ast: SimAsterisk, endpoint: str) -> list[str]:
    """The legs originated to ``endpoint``, in order (their first Dial)."""
    return [
        e["peer"]["id"]
        for e in ast.bus.log
        if e["type"] == "Dial" and e["dialstatus"] == ""
        and e["peer"]["name"].startswith(endpoint + "-")
    ]  # fmt: skip


def kill_writer(writer: StoreWriter) -> None:
    """As SIGKILL would: the writer's batch not written yet is lost."""
    task = writer._task
    assert task is not None
    task.cancel()


async def make_site(tmp_path: Path, config_text: str, sounds: Sounds) -> AsyncIterator[Site]:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "center.yaml").write_text(textwrap.dedent(config_text), encoding="utf-8")
    ast = SimAsterisk(endpoints=Endpoints(), sounds=sounds)
    server = await SimServer(ast).start()
    settings = EngineSettings(
        ari_url=server.url, ari_password=SecretStr("secret"), config_dir=str(conf),
        config_poll_interval=0,
    )  # fmt: skip
    async with (
        await Store.open(tmp_path / "cc.db") as store,
        StoreWriter(store, flush_interval=0.01) as writer,
    ):
        try:
            yield Site(ast, load_config(conf), settings, store, writer)
        finally:
            await server.close()


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async for made in make_site(tmp_path, RESTART_CONFIG, Sounds()):
        yield made


@pytest.fixture
async def voice_site(tmp_path: Path) -> AsyncIterator[Site]:
    async for made in make_site(tmp_path, VOICE_CONFIG, Sounds(LONG, default=0.05)):
        yield made


async def test_lines_a_kill_lost_are_written_after_the_restart_and_none_twice(
    site: Site,
) -> None:
    ast = site.ast
    ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    # The dead engine's writer: it writes only when told to, so a kill loses its batch.
    slow = StoreWriter(site.store, flush_interval=3600)
    slow.start()
    first = await site.engine(slow)
    talking = ast.inject_caller("800", args=("inbound", "800"))
    await until_in_line(first, talking.id)
    await slow.flush()  # its ENTERQUEUE is in the store ...
    await first.login("1001")
    await until(lambda: dials(site.ast, "PJSIP/1001"))
    (agent_leg,) = dials(site.ast, "PJSIP/1001")
    await until(lambda: together(ast, talking.id, agent_leg))  # ... its CONNECT is not
    waiting = ast.inject_caller("800", args=("inbound", "800"))
    await until_in_line(first, waiting.id)  # nor anything of this caller
    entered = first.router.calls[waiting.id].entered
    await first.idle()
    await kill(first)
    kill_writer(slow)
    await until(lambda: not ast.bus.connected("callcenter"))
    assert await site.verbs(talking.id) == ["ENTERQUEUE"]
    assert await site.verbs(waiting.id) == []

    second = await site.engine()
    try:
        await second.idle()
        assert second.router.line("sales") == [waiting.id]
        assert await site.verbs(talking.id) == ["ENTERQUEUE", "CONNECT"]
        (line,) = await site.store.queue_log(call=waiting.id)
        assert line.verb == "ENTERQUEUE"
        assert line.time == pytest.approx(entered, abs=1e-3)  # when it entered, not now
        interaction = await site.store.get_interaction(talking.id)
        assert interaction is not None
        assert (interaction.agent, interaction.outcome) == ("1001", "answered")
        assert interaction.answered_at is not None
        waited = await site.store.get_interaction(waiting.id)
        assert waited is not None
        assert waited.enqueued_at == pytest.approx(entered, abs=1e-3)
        await kill(second)
        await until(lambda: not ast.bus.connected("callcenter"))
        # Restarted again: everything is in the store now, nothing is written twice.
        third = await site.engine()
        await third.idle()
        assert await site.verbs(talking.id) == ["ENTERQUEUE", "CONNECT"]
        assert await site.verbs(waiting.id) == ["ENTERQUEUE"]
        await third.stop()
    finally:
        await second.stop()
        await stop_dead(first)
        await slow.close()


async def until_in_line(engine: Engine, call: str) -> None:
    await until(lambda: call in engine.router.calls)


async def queued_in_billing(site: Site, engine: Engine, number: str) -> str:
    """A caller with music in billing's line (the bridge comes before the core's line)."""
    caller = site.ast.inject_caller("802", caller=CallerId("Wang", number),
                                    args=("inbound", "802"))  # fmt: skip
    await until(lambda: bridge_of_site(site, caller.id) == ("holding", True))
    await until(lambda: caller.id in engine.router.calls)
    return caller.id


def bridge_of_site(site: Site, channel: str) -> tuple[str, bool] | None:
    live = site.ast.channels.get(channel)
    if live is None or live.bridge is None:
        return None
    bridge = site.ast.bridges[live.bridge]
    return bridge.bridge_type, bridge.moh


async def test_a_booked_callback_survives_a_kill_in_its_place_and_is_served(
    voice_site: Site,
) -> None:
    site, ast = voice_site, voice_site.ast
    first = await site.engine()  # nobody logged in: every caller waits
    ahead = await queued_in_billing(site, first, "5550001")
    booker = await queued_in_billing(site, first, "5550100")
    await book(site, first, booker)  # hung up after the confirmation
    behind = await queued_in_billing(site, first, "5550002")
    assert first.router.line("billing") == [ahead, booker, behind]
    entered = first.router.calls[booker].entered
    await first.idle()
    await site.writer.flush()
    (kept,) = await StoredRecords(site.store).bookings()
    assert (kept.call_id, kept.number, kept.queue) == (booker, "5550100", "billing")
    assert kept.attributes["vip"] is True
    await kill(first)
    await until(lambda: not ast.bus.connected("callcenter"))

    second = await site.engine()
    try:
        await second.idle()
        assert second.router.line("billing") == [ahead, booker, behind]  # its place
        assert second.router.call_state(booker) is CallState.CALLBACK
        assert second.router.calls[booker].entered == pytest.approx(entered, abs=1e-3)
        assert bridge_of_site(site, ahead) == ("holding", True)
        ast.remote_hangup(ahead)
        await until(lambda: second.router.line("billing") == [booker, behind])

        # In turn: the agent first (shown the customer's number), then the customer.
        ast.endpoints.set("PJSIP/1003", Answer(after=0.05))
        await second.login("1003")
        await until(lambda: dials(site.ast, "PJSIP/1003"))
        (leg,) = dials(site.ast, "PJSIP/1003")
        dialed = [e for e in ast.bus.log if e["type"] == "Dial" and e["peer"]["id"] == leg]
        assert dialed[0]["peer"]["caller"]["number"] == "5550100"
        await until(lambda: dials(site.ast, "Local/5550100@callcenter-outbound"))
        (customer,) = dials(site.ast, "Local/5550100@callcenter-outbound")
        await until(lambda: together(ast, leg, customer))
        ast.remote_hangup(customer)
        await until(lambda: leg not in ast.channels)
        # Booked once (INFO), entered once: nothing written twice by the restart.
        assert await site.verbs(booker) == ["ENTERQUEUE", "INFO", "CONNECT", "COMPLETECALLER"]
        assert await StoredRecords(site.store).bookings() == []  # served: no longer kept
        assert behind in second.router.calls
    finally:
        await second.stop()
        await stop_dead(first)


async def test_a_booker_still_hearing_the_confirmation_is_hung_up_and_kept(
    voice_site: Site,
) -> None:
    site, ast = voice_site, voice_site.ast
    # A long confirmation: the caller is surely still on the line at the kill.
    ast.media.sounds.durations["sound:callcenter/callback-booked"] = 5.0
    first = await site.engine()
    booker = await queued_in_billing(site, first, "5550100")
    await until(lambda: "digits:*" in media(site, booker))
    ast.press(booker, "*")
    await started_on(site, booker, "sound:callcenter/callback-booked")
    await first.idle()
    await site.writer.flush()
    await kill(first)  # the confirmation is still playing: the caller is on the line
    await until(lambda: not ast.bus.connected("callcenter"))
    assert booker in ast.channels

    second = await site.engine()
    try:
        await until(lambda: booker not in ast.channels)
        await second.idle()
        assert second.router.call_state(booker) is CallState.CALLBACK
        assert second.router.line("billing") == [booker]
    finally:
        await second.stop()
        await stop_dead(first)


def media(site: Site, channel: str) -> list[str]:
    return [
        e["playback"]["media_uri"] for e in site.ast.bus.log
        if e["type"] == "PlaybackStarted" and e["playback"]["target_uri"] == f"channel:{channel}"
    ]  # fmt: skip


async def started_on(site: Site, channel: str, uri: str) -> None:
    await until(lambda: uri in media(site, channel))


async def book(site: Site, engine: Engine, booker: str) -> None:
    """Press the callback key once the offer is heard; wait for the hang-up after the
    confirmation. A timeout says what the engine and the simulator were at: this wait
    failed now and then in full runs (not alone), cause not found yet."""
    await until(lambda: "digits:*" in media(site, booker))
    site.ast.press(booker, "*")
    try:
        await until(lambda: booker not in site.ast.channels)
    except AssertionError:
        events = [
            (e["type"], e.get("digit") or e.get("playback", {}).get("media_uri", ""))
            for e in site.ast.bus.log
            if booker in json.dumps(e) and e["type"] not in ("ChannelVarset", "Dial")
        ]  # fmt: skip
        record = engine.calls.get(booker)
        raise AssertionError(
            f"booker {booker} still on the line: core state "
            f"{engine.router.call_state(booker) if booker in engine.router.calls else None}, "
            f"callback {record.callback if record else None}, "
            f"speaking {engine.executor.voice.speaking(booker)}, "
            f"chain busy {booker in engine.executor._tails}, events {events[-12:]}"
        ) from None


async def test_a_callback_talking_when_the_engine_dies_is_adopted_and_ends_once(
    voice_site: Site,
) -> None:
    site, ast = voice_site, voice_site.ast
    ast.endpoints.set("PJSIP/1003", Answer(after=0.05))
    first = await site.engine()
    booker = await queued_in_billing(site, first, "5550100")
    await book(site, first, booker)
    await first.login("1003")
    await until(lambda: dials(site.ast, "Local/5550100@callcenter-outbound"))
    (leg,) = dials(site.ast, "PJSIP/1003")
    (customer,) = dials(site.ast, "Local/5550100@callcenter-outbound")
    await until(lambda: together(ast, leg, customer))
    await first.idle()
    await site.writer.flush()
    await kill(first)
    await until(lambda: not ast.bus.connected("callcenter"))

    second = await site.engine()
    try:
        await second.idle()
        assert together(ast, leg, customer)  # the talk goes on, nobody hung up
        assert second.router.call_state(booker) is CallState.CONNECTED
        assert str(second.router.agent_state("1003")) == "on_call"
        ast.remote_hangup(customer)
        await until(lambda: leg not in ast.channels)  # the agent's leg goes with it
        await until(lambda: str(second.router.agent_state("1003")) != "on_call")
        assert await site.verbs(booker) == ["ENTERQUEUE", "INFO", "CONNECT", "COMPLETECALLER"]
        assert await StoredRecords(site.store).bookings() == []
        assert len(dials(site.ast, "Local/5550100@callcenter-outbound")) == 1  # called once
    finally:
        await second.stop()
        await stop_dead(first)


async def test_a_callback_that_ended_while_the_engine_was_dead_is_not_called_again(
    voice_site: Site,
) -> None:
    site, ast = voice_site, voice_site.ast
    ast.endpoints.set("PJSIP/1003", Answer(after=0.05))
    first = await site.engine()
    booker = await queued_in_billing(site, first, "5550100")
    await book(site, first, booker)
    await first.login("1003")
    await until(lambda: dials(site.ast, "Local/5550100@callcenter-outbound"))
    (customer,) = dials(site.ast, "Local/5550100@callcenter-outbound")
    (leg,) = dials(site.ast, "PJSIP/1003")
    await until(lambda: together(ast, leg, customer))
    await first.idle()
    await site.writer.flush()
    await kill(first)
    await until(lambda: not ast.bus.connected("callcenter"))
    ast.remote_hangup(customer)  # the customer hangs up while nobody listens

    second = await site.engine()
    try:
        await until(lambda: leg not in ast.channels)  # the agent's leg left alone: hung up
        await second.idle()
        await site.writer.flush()
        assert booker not in second.router.calls
        assert await StoredRecords(site.store).bookings() == []
        assert not in_use(ast)  # the agent's mixing bridge went with its leg
        await second.login("1003")
        await second.idle()
        assert len(dials(site.ast, "Local/5550100@callcenter-outbound")) == 1
        assert len(dials(site.ast, "PJSIP/1003")) == 1
    finally:
        await second.stop()
        await stop_dead(first)


async def test_a_booking_moved_to_another_queue_comes_back_there(voice_site: Site) -> None:
    site, ast = voice_site, voice_site.ast
    first = await site.engine()
    booker = await queued_in_billing(site, first, "5550100")
    await book(site, first, booker)
    entered = first.router.calls[booker].entered
    await first.dispatcher.request(ev.CallerMoved(first.now(), booker, "support"))
    await first.idle()
    await site.writer.flush()
    await kill(first)
    await until(lambda: not ast.bus.connected("callcenter"))

    second = await site.engine()
    try:
        await second.idle()
        assert second.router.line("support") == [booker]
        assert second.router.call_state(booker) is CallState.CALLBACK
        assert second.router.calls[booker].entered == pytest.approx(entered, abs=1e-3)
        # Moved once (its ENTERQUEUE in support was written): nothing written twice.
        verbs = await site.verbs(booker)
        assert verbs == ["ENTERQUEUE", "INFO", "INFO", "EXITWITHKEY", "ENTERQUEUE"]
    finally:
        await second.stop()
        await stop_dead(first)
