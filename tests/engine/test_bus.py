"""The engine's desk on a real embedded amqtt broker, with consoles as MQTT clients:
login with the PIN, retained state, the offer with the screen pop, pause, wrap-up,
call control by the topic's agent only, bad payloads dropped, supervisors' commands."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiomqtt
import pytest

from ari_app.engine.desk import LookUp
from callcenter.bus import schemas, topics
from callcenter.bus.client import Received
from callcenter.core.states import AgentState, CallState, CallTrigger
from callcenter.store.caller_lookup import CallerRecord
from callcenter.store.tickets import close_ticket, create_ticket, follow_up, get_ticket
from console.wallboard import Wallboard
from sim import Answer, CallerId, NoAnswer
from tests.engine.bus_rig import SUPERVISOR, BusRig, bus_rig
from tests.engine.conftest import until
from tests.engine.marked import marked, marked_queue


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[BusRig]:
    async with bus_rig(tmp_path) as built:
        yield built


def kind_is(kind: topics.TopicKind) -> Callable[[Received], bool]:
    return lambda received: received.topic.kind is kind


def state_is(state: AgentState) -> Callable[[Received], bool]:
    return lambda r: isinstance(r.message, schemas.AgentStateMessage) and r.message.state is state


def together(rig: BusRig, a: str, b: str) -> bool:
    first, second = rig.ast.channels.get(a), rig.ast.channels.get(b)
    return bool(first and second and first.bridge and first.bridge == second.bridge)


def agent_leg(rig: BusRig, endpoint: str) -> str | None:
    prefix = endpoint + "-"
    for event in rig.ast.bus.log:
        if event["type"] == "Dial" and event["peer"]["name"].startswith(prefix):
            return str(event["peer"]["id"])
    return None


async def connect_a_call(rig: BusRig, number: str = "5551234") -> tuple[str, str]:
    """A caller to 800 answered by 1001 (logged in already): (caller id, agent leg id)."""
    caller = rig.ast.inject_caller(
        "800", caller=CallerId("Ann Li", number), args=("inbound", "800")
    )
    await until(lambda: agent_leg(rig, "PJSIP/1001"))
    leg = agent_leg(rig, "PJSIP/1001")
    assert leg is not None
    await until(lambda: together(rig, caller.id, leg))
    return caller.id, leg


async def test_login_needs_the_right_pin_and_the_state_is_retained(rig: BusRig) -> None:
    async with rig.console("1001") as ann:
        wrong = await ann.command("login", pin="0000")
        assert (wrong.ok, wrong.error) == (False, "wrong PIN")
        assert rig.engine.router.agent_state("1001") is AgentState.LOGGED_OUT
        right = await ann.command("login", pin="1234")
        assert right.ok, right.error
        assert rig.engine.router.agent_state("1001") is AgentState.READY
    # A console that connects later sees the current state at once (retained).
    async with rig.console(SUPERVISOR[0]) as late:
        await late.watch(topics.agent_state("1001"))
        state = await late.next(lambda r: r.retained)
        assert isinstance(state, schemas.AgentStateMessage)
        assert (state.agent, state.state, state.cause) == ("1001", AgentState.READY, "login")


async def test_an_agent_without_a_pin_cannot_log_in(rig: BusRig) -> None:
    # 1003 has no PIN in the configuration, so no broker password either: refused at
    # the broker's door.
    with pytest.raises(aiomqtt.MqttError):
        async with rig.console("1003", password="1234"):
            pass
    # ... and a broker user who is not an agent cannot pass as one.
    with pytest.raises(aiomqtt.MqttError):
        async with rig.console("1001", password="9999"):
            pass


async def test_offer_carries_the_screen_pop_with_the_customers_history(rig: BusRig) -> None:
    await rig.store.upsert_customer(
        "5551234", name="Ann Li", vip=True, notes="Prefers <b>email</b>"
    )
    await rig.store.add_customer_tag("5551234", "gold")
    await rig.store.upsert_interaction(
        "past-call-1", caller_number="5551234", arrived_at=1_700_000_000.0, queue="sales",
        agent="1002", disposition="resolved", notes="[red]refund[/red] promised",
    )  # fmt: skip
    rig.ast.endpoints.set("PJSIP/1001", NoAnswer())
    async with rig.console("1001") as ann:
        await ann.watch(topics.agent_subtree("1001"))
        assert (await ann.command("login", pin="1234")).ok
        caller = rig.ast.inject_caller(
            "800", caller=CallerId("Ann Li", "5551234"), args=("inbound", "800")
        )
        # The agent was free, so the ring went in the step that queued the caller: the
        # SQLite store was read in that step too, and the one offer has the whole pop.
        offer = await ann.next(lambda r: isinstance(r.message, schemas.OfferMessage))
        with pytest.raises(TimeoutError):  # and no second one
            await ann.next(lambda r: isinstance(r.message, schemas.OfferMessage), limit=0.5)
    assert isinstance(offer, schemas.OfferMessage)
    assert (offer.call, offer.agent, offer.queue) == (caller.id, "1001", "sales")
    assert (offer.caller_number, offer.caller_name, offer.vip) == ("5551234", "Ann Li", True)
    assert offer.tags == ["gold"]
    assert offer.customer_notes == "Prefers <b>email</b>"  # literally, markup and all
    assert not offer.history_pending
    (past,) = offer.history
    assert (past.call, past.agent, past.disposition) == ("past-call-1", "1002", "resolved")
    assert past.notes == "[red]refund[/red] promised"
    assert 0 <= offer.waited < 5


async def test_a_store_failing_at_once_costs_the_offer_its_pop_only(
    rig: BusRig, caplog: pytest.LogCaptureFixture
) -> None:
    def locked(_number: str) -> CallerRecord:
        raise sqlite3.OperationalError("database is locked")

    rig.desk.look_up_now = locked
    rig.ast.endpoints.set("PJSIP/1001", NoAnswer())
    async with rig.console("1001") as ann:
        await ann.watch(topics.agent_offer("1001"))
        assert (await ann.command("login", pin="1234")).ok
        caller = rig.ast.inject_caller("800", caller=CallerId("Ann Li", "5551234"),
                                       args=("inbound", "800"))  # fmt: skip
        offer = await ann.next(lambda r: True)
    assert isinstance(offer, schemas.OfferMessage)
    assert (offer.call, offer.caller_name, offer.history_pending) == (caller.id, "Ann Li", False)
    assert (offer.history, offer.open_tickets) == ([], [])
    assert "screen pop: store lookup failed" in caplog.text


class SlowLookUp:
    """The desk's store lookup, answering only after ``delay`` seconds."""

    def __init__(self, inner: LookUp, delay: float) -> None:
        self.inner = inner
        self.delay = delay
        self.answered = asyncio.Event()

    async def __call__(self, number: str) -> CallerRecord:
        await asyncio.sleep(self.delay)
        self.answered.set()
        return await self.inner(number)


async def test_a_slow_store_never_delays_the_offer(tmp_path: Path) -> None:
    async with bus_rig(tmp_path, lookup_timeout=2.0) as rig:
        assert rig.desk.look_up is not None
        rig.desk.look_up_now = None  # a store that answers only later (PostgreSQL, or slow)
        slow = rig.desk.look_up = SlowLookUp(rig.desk.look_up, delay=1.0)
        await rig.store.upsert_interaction(
            "past-call-2", caller_number="5550000", arrived_at=1_700_000_000.0, notes="called"
        )
        rig.ast.endpoints.set("PJSIP/1001", NoAnswer())
        async with rig.console("1001") as ann:
            await ann.watch(topics.agent_offer("1001"))
            assert (await ann.command("login", pin="1234")).ok
            rig.ast.inject_caller("800", caller=CallerId("", "5550000"), args=("inbound", "800"))
            first = await ann.next(lambda r: True)
            assert not slow.answered.is_set()  # the offer did not wait for the store
            assert isinstance(first, schemas.OfferMessage)
            assert (first.history_pending, first.history) == (True, [])
            second = await ann.next(lambda r: True)
            assert isinstance(second, schemas.OfferMessage)
            assert second.call == first.call
            assert not second.history_pending
            assert [past.notes for past in second.history] == ["called"]


async def test_pause_with_a_configured_reason_and_unpause(rig: BusRig) -> None:
    async with rig.console("1001") as ann:
        await ann.watch(topics.agent_state("1001"))
        assert (await ann.command("login", pin="1234")).ok
        refused = await ann.command("pause", reason="nap")
        assert (refused.ok, refused.error) == (False, "unknown pause reason 'nap'")
        assert (await ann.command("pause", reason="lunch")).ok
        paused = await ann.next(state_is(AgentState.PAUSED))
        assert isinstance(paused, schemas.AgentStateMessage)
        assert paused.reason == "lunch"
        assert (await ann.command("unpause")).ok
        await ann.next(state_is(AgentState.READY))
        assert (await ann.command("logout")).ok
        await ann.next(state_is(AgentState.LOGGED_OUT))
        assert (await ann.command("login", pin="1234", reason="lunch")).ok  # log in paused
        await ann.next(state_is(AgentState.PAUSED))


async def test_call_control_acts_for_the_topics_agent_only(rig: BusRig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    rig.ast.endpoints.set("PJSIP/1002", NoAnswer())
    async with rig.console("1001") as ann, rig.console("1002") as bob:
        assert (await ann.command("login", pin="1234")).ok
        caller, leg = await connect_a_call(rig)
        assert (await bob.command("login", pin="5678")).ok

        assert (await ann.command("hold")).ok
        assert (await ann.command("dtmf", digits="12#")).ok
        transfer = await ann.command("transfer", kind="queue", target="sales", attended=True)
        assert transfer.ok
        # Bob is not on a call: whatever his payload says, he acts as Bob and is refused.
        refused = await bob.command("hangup", agent="1001", call=caller)
        assert (refused.ok, refused.error) == (False, "agent 1002 is not on a call")
        bad_digits = await ann.command("dtmf", digits="1; rm")
        assert not bad_digits.ok
        # And Bob cannot even publish on Ann's command topic: the broker drops it.
        sneaky = schemas.AgentCommand(request_id="sneaky", action=schemas.CommandAction.HANGUP)
        await bob.client.publish(topics.agent_cmd("1001"), sneaky)
        assert (await ann.command("resume")).ok  # after Bob's attempt, in order
    assert rig.control.done == [
        ("hold", "1001", caller),
        ("dtmf", "1001", caller, "12#"),
        ("transfer", "1001", caller, "queue", "sales", True),
        ("resume", "1001", caller),
    ]
    assert together(rig, caller, leg)  # the call goes on, consoles closed or not


async def test_wrap_up_sets_the_disposition_and_notes_and_frees_the_agent(rig: BusRig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    async with rig.console("1001") as ann:
        await ann.watch(topics.agent_state("1001"))
        assert (await ann.command("login", pin="1234")).ok
        caller, _leg = await connect_a_call(rig)
        rig.ast.remote_hangup(caller)
        await ann.next(state_is(AgentState.WRAP_UP))
        bad = await ann.command("wrap_up", disposition="nonsense")
        assert not bad.ok
        assert "nonsense" in (bad.error or "")
        done = await ann.command("wrap_up", disposition="resolved", notes="<i>call back</i>")
        assert done.ok, done.error
        await ann.next(state_is(AgentState.READY))
        # A complaint ticket for that call, and a callback tomorrow.
        ticket = await ann.command("ticket", op="create", department="quality", text="noisy")
        assert ticket.ok, ticket.error
        assert (ticket.data["department"], ticket.data["status"]) == ("quality", "open")
        unknown = await ann.command("ticket", op="create", department="nowhere", text="x")
        assert not unknown.ok
        tomorrow = rig.engine.now() + 86400
        callback = await ann.command("schedule_callback", number="5551234", at=tomorrow)
        assert callback.ok, callback.error
    await rig.engine.idle()
    await rig.writer.flush()
    interaction = await rig.store.get_interaction(caller)
    assert interaction is not None
    assert (interaction.disposition, interaction.notes) == ("resolved", "<i>call back</i>")
    saved = await get_ticket(rig.store, int(ticket.data["ticket"]))
    assert saved is not None
    assert (saved.call_id, saved.customer, saved.created_by) == (caller, "5551234", "1001")


async def test_malformed_and_oversized_commands_are_dropped_and_calls_go_on(
    rig: BusRig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    caplog.set_level(logging.WARNING, logger="callcenter.bus")
    async with rig.console("1001") as ann:
        assert (await ann.command("login", pin="1234")).ok
        raw = ann.client._client  # a misbehaving console: bytes, not a schema message
        await raw.publish(topics.agent_cmd("1001"), b"{not json", qos=1)
        await raw.publish(topics.agent_cmd("1001"), b'{"v": 1, "request_id": "x"}', qos=1)
        await raw.publish(topics.agent_cmd("1001"), b"[" * (schemas.MAX_PAYLOAD_BYTES + 1), qos=1)
        caller, leg = await connect_a_call(rig)
        assert (await ann.command("hold")).ok  # the desk still answers
    assert together(rig, caller, leg)
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 3, dropped


async def test_supervisor_forces_a_pause_changes_priority_and_listens(rig: BusRig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    async with rig.console("1001") as ann, rig.console(SUPERVISOR[0]) as sup:
        assert (await ann.command("login", pin="1234")).ok
        caller, _leg = await connect_a_call(rig)
        listen = await sup.supervise("monitor", agent="1001", mode="listen", endpoint="PJSIP/2001")
        assert listen.ok, listen.error
        assert rig.control.done[-1] == ("monitor", "sup", "PJSIP/2001", caller, "listen")
        assert (await sup.supervise("force_pause", agent="1001", reason="lunch")).ok
        # Paused during a call: it applies when the call ends (the core's rule).
        assert rig.engine.router.agents["1001"].pending_pause == "lunch"
        unknown = await sup.supervise("set_priority", call="no-such-call", priority=5)
        assert not unknown.ok
        # An agent cannot act as a supervisor: the broker refuses its publish.
        sneaky = schemas.SupervisorCommand(
            request_id="s1", action=schemas.SupervisorAction.FORCE_LOGOUT, params={"agent": "1001"}
        )
        await ann.client.publish(topics.supervisor_cmd(SUPERVISOR[0]), sneaky)
        await rig.engine.login("1002")
        assert (await sup.supervise("force_logout", agent="1002")).ok
        assert rig.engine.router.agent_state("1002") is AgentState.LOGGED_OUT
    assert rig.engine.router.agent_state("1001") is AgentState.ON_CALL
    assert not rig.engine.router.agents["1001"].pending_logout  # the agent's try was dropped


async def test_supervisor_raises_a_waiting_callers_priority(rig: BusRig) -> None:
    async with rig.console(SUPERVISOR[0]) as sup:
        first = rig.ast.inject_caller("800", args=("inbound", "800"))
        second = rig.ast.inject_caller("800", args=("inbound", "800"))
        await until(lambda: len(rig.engine.router.line("sales")) == 2)
        assert rig.engine.router.line("sales") == [first.id, second.id]
        assert (await sup.supervise("set_priority", call=second.id, priority=5)).ok
        assert rig.engine.router.line("sales") == [second.id, first.id]


async def test_supervisor_moves_a_waiting_caller_to_another_queue(rig: BusRig) -> None:
    async with rig.console(SUPERVISOR[0]) as sup:
        first = rig.ast.inject_caller("800", args=("inbound", "800"))
        await until(lambda: rig.engine.router.line("sales") == [first.id])
        entered = marked(rig.ast.channels[first.id].variables).at
        moved = await sup.supervise("move_call", call=first.id, queue="support")
        assert moved.ok, moved.error
        assert (rig.engine.router.line("sales"), rig.engine.router.line("support")) == (
            [], [first.id],
        )  # fmt: skip
        # Marked for a restart: the new queue, and still the first entry time.
        variables = rig.ast.channels[first.id].variables
        await until(lambda: marked_queue(variables) == "support")
        assert marked(variables).at == entered
        assert rig.engine.calls.get(first.id).queue == "support"  # type: ignore[union-attr]
        # 1003 (support's member) logs in: the moved caller is the one offered.
        await rig.engine.login("1003")
        await until(lambda: agent_leg(rig, "PJSIP/1003") is not None)
        again = await sup.supervise("move_call", call=first.id, queue="sales")
        assert not again.ok  # an agent rings for it: no longer moved
        unknown = await sup.supervise("move_call", call=first.id, queue="nowhere")
        assert (unknown.ok, unknown.error) == (False, "unknown queue 'nowhere'")
    await rig.engine.idle()
    await rig.writer.flush()
    verbs = [line.verb for line in await rig.store.queue_log(call=first.id)]
    assert verbs[:4] == ["ENTERQUEUE", "INFO", "EXITWITHKEY", "ENTERQUEUE"]
    row = await rig.store.get_interaction(first.id)
    assert row is not None
    assert (row.first_queue, row.queue) == ("sales", "support")
    assert row.outcome != "exited"  # the move is no end of the contact


async def test_accept_mode_rings_the_phone_only_once_the_agent_accepts(rig: BusRig) -> None:
    async with rig.console("1002") as bob:
        await bob.watch(topics.agent_subtree("1002"))
        assert (await bob.command("login", pin="5678")).ok
        refused = await bob.command("answer")
        assert (refused.ok, refused.error) == (False, "no call is offered to you")
        caller = rig.ast.inject_caller("802", args=("inbound", "802"))
        offer = await bob.next(lambda r: isinstance(r.message, schemas.OfferMessage))
        assert isinstance(offer, schemas.OfferMessage)
        assert (offer.call, offer.queue, offer.accept) == (caller.id, "desk", True)
        await asyncio.sleep(0.2)
        assert agent_leg(rig, "PJSIP/1002") is None  # the phone waits for the accept
        assert rig.engine.router.agent_state("1002") is AgentState.RINGING  # reserved
        accepted = await bob.command("answer")
        assert accepted.ok, accepted.error
        await until(lambda: agent_leg(rig, "PJSIP/1002") is not None)
        leg = agent_leg(rig, "PJSIP/1002")
        assert leg is not None
        await until(lambda: together(rig, caller.id, leg))
        assert rig.engine.router.agent_state("1002") is AgentState.ON_CALL
        again = await bob.command("answer")
        assert not again.ok  # on the call: nothing to accept


async def test_answer_is_refused_for_a_queue_that_rings_the_phone(rig: BusRig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", NoAnswer())
    async with rig.console("1001") as ann:
        assert (await ann.command("login", pin="1234")).ok
        rig.ast.inject_caller("800", args=("inbound", "800"))
        await until(lambda: agent_leg(rig, "PJSIP/1001") is not None)
        reply = await ann.command("answer")
    assert not reply.ok
    assert "accept" in (reply.error or "")


async def test_queue_figures_are_retained_and_a_low_service_level_alerts(rig: BusRig) -> None:
    async with rig.console(SUPERVISOR[0]) as sup:
        await sup.watch(topics.queue_stats("sales"), topics.ALERTS)
        caller = rig.ast.inject_caller("800", args=("inbound", "800"))

        def waiting(count: int) -> Callable[[Received], bool]:
            return lambda r: (
                isinstance(r.message, schemas.QueueStatsMessage) and (r.message.waiting == count)
            )

        stats = await sup.next(waiting(1))
        assert isinstance(stats, schemas.QueueStatsMessage)
        assert stats.queue == "sales"
        await asyncio.sleep(1.1)  # past the 1 s service level: this abandon counts
        rig.ast.remote_hangup(caller.id)
        alert = await sup.next(kind_is(topics.TopicKind.ALERTS))
        assert isinstance(alert, schemas.AlertMessage)
        assert (alert.kind, alert.queue, alert.value, alert.target) == (
            "service_level", "sales", 0.0, 0.8,
        )  # fmt: skip
    async with rig.console(SUPERVISOR[0]) as late:
        await late.watch(topics.queue_stats("sales"))
        retained = await late.next(lambda r: r.retained)
        assert isinstance(retained, schemas.QueueStatsMessage)
        assert (retained.waiting, retained.abandoned, retained.offered) == (0, 1, 1)


async def test_broker_restart_engine_reconnects_and_republishes(rig: BusRig) -> None:
    rig.desk.reconnect_backoff = 0.2
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    async with rig.console("1001") as ann:
        assert (await ann.command("login", pin="1234")).ok
        caller, leg = await connect_a_call(rig)
    assert rig.broker is not None
    await rig.broker.stop()
    await until(lambda: not rig.desk.connected.is_set())
    await rig.broker.start()  # same port; a new broker keeps no retained messages
    await until(lambda: rig.desk.connected.is_set() and rig.desk.connections == 2, limit=10)
    assert together(rig, caller, leg)  # the call never noticed
    async with rig.console("1001") as ann:
        await ann.watch(topics.agent_state("1001"))
        state = await ann.next(lambda r: r.retained)
        assert isinstance(state, schemas.AgentStateMessage)
        assert state.state is AgentState.ON_CALL
        assert (await ann.command("hold")).ok  # and commands work again


@pytest.fixture
async def real_rig(tmp_path: Path) -> AsyncIterator[BusRig]:
    """With the engine's own call control (ari_app/engine/control.py), not a fake."""
    async with bus_rig(tmp_path, real_control=True) as built:
        yield built


async def test_a_real_hangup_from_the_console_ends_that_agents_call_only(
    real_rig: BusRig,
) -> None:
    rig = real_rig
    async with rig.console("1001") as ann, rig.console("1002") as bob:
        assert (await ann.command("login", pin="1234")).ok
        caller, leg = await connect_a_call(rig)
        assert (await bob.command("login", pin="5678")).ok
        refused = await bob.command("hangup")
        assert not refused.ok
        assert together(rig, caller, leg)
        assert (await ann.command("hangup")).ok
        await until(lambda: caller not in rig.ast.channels and leg not in rig.ast.channels)


async def test_resync_sends_the_state_and_the_ringing_offer_again(rig: BusRig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", NoAnswer())
    async with rig.console("1001") as ann:
        await ann.watch(topics.agent_subtree("1001"))
        assert (await ann.command("login", pin="1234")).ok
        caller = rig.ast.inject_caller("800", args=("inbound", "800"))
        await ann.next(kind_is(topics.TopicKind.AGENT_OFFER))
        await until(lambda: rig.engine.router.agent_state("1001") is AgentState.RINGING)
        while not ann.inbox.empty():  # what came before the resync
            ann.inbox.get_nowait()
        assert (await ann.command("resync")).ok
        state = await ann.next(kind_is(topics.TopicKind.AGENT_STATE))
        assert isinstance(state, schemas.AgentStateMessage)
        assert state.state is AgentState.RINGING
        offer = await ann.next(kind_is(topics.TopicKind.AGENT_OFFER))
        assert isinstance(offer, schemas.OfferMessage)
        assert offer.call == caller.id


async def test_the_offer_shows_the_ivr_path_the_caller_took(rig: BusRig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", NoAnswer())
    async with rig.console("1001") as ann:
        await ann.watch(topics.agent_offer("1001"))
        assert (await ann.command("login", pin="1234")).ok
        caller = rig.ast.inject_caller(
            "801", caller=CallerId("<script>", "5552222"), args=("inbound", "801")
        )
        await until(lambda: any(e["type"] == "PlaybackStarted" for e in rig.ast.bus.log))
        rig.ast.press(caller.id, "2")
        offer = await ann.next(lambda r: isinstance(r.message, schemas.OfferMessage))
    assert isinstance(offer, schemas.OfferMessage)
    assert offer.ivr_path == ["main", "2"]
    assert offer.caller_name == "<script>"  # verbatim: the console shows it literally


async def test_a_flooding_console_is_cut_short_and_still_served_after(
    rig: BusRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ari_app.engine.desk")
    async with rig.console("1001") as ann:
        await ann.watch(f"{topics.PREFIX}/agents/1001/reply/+")
        for n in range(60):  # wrong PINs, as fast as it can: each costs the engine a scrypt
            command = schemas.AgentCommand(
                request_id=f"flood{n}", action=schemas.CommandAction.LOGIN, params={"pin": "0000"}
            )
            await ann.client.publish(topics.agent_cmd("1001"), command)

        def dropped() -> int:
            return sum("dropped:" in r.getMessage() for r in caplog.records)

        # Every command is either answered or dropped (logged), none is lost silently.
        await until(lambda: ann.inbox.qsize() + dropped() == 60, limit=20)
        assert dropped() > 0
        assert all(
            isinstance(ann.inbox.get_nowait().message, schemas.Reply) for _ in range(60 - dropped())
        )
        assert (await ann.command("resync")).ok  # and the console is served again
    assert rig.engine.router.agent_state("1001") is AgentState.LOGGED_OUT


async def test_the_offer_shows_the_callers_open_complaints_with_their_latest_entry(
    rig: BusRig,
) -> None:
    # The desk reads customer, history and tickets in one lookup (look_up_caller).
    await rig.store.upsert_customer("5551234", name="Ann Li")
    at = 1_700_000_000.0
    settled = await create_ticket(
        rig.store, department="billing", summary="charged twice", actor="1002", at=at,
        customer="5551234",
    )  # fmt: skip
    await close_ticket(rig.store, settled, text="refunded", actor="1002", at=at + 10)
    pending = await create_ticket(
        rig.store, department="logistics", summary="box crushed", actor="1002", at=at + 20,
        customer="5551234",
    )  # fmt: skip
    await follow_up(rig.store, pending, text="[b]courier[/b] called", actor="1003", at=at + 30)
    rig.ast.endpoints.set("PJSIP/1001", NoAnswer())
    async with rig.console("1001") as ann:
        await ann.watch(topics.agent_offer("1001"))
        assert (await ann.command("login", pin="1234")).ok
        rig.ast.inject_caller("800", caller=CallerId("", "5551234"), args=("inbound", "800"))
        offer = await ann.next(
            lambda r: isinstance(r.message, schemas.OfferMessage) and not r.message.history_pending
        )
    assert isinstance(offer, schemas.OfferMessage)
    assert offer.caller_name == "Ann Li"
    (shown,) = offer.open_tickets  # the closed one is not pending
    assert (shown.ticket, shown.department, shown.status) == (pending, "logistics", "open")
    assert (shown.last_action, shown.last_text) == ("note", "[b]courier[/b] called")


async def test_the_wallboard_lists_a_caller_from_the_moment_it_joins(rig: BusRig) -> None:
    # The core has no transition for entering a queue; the desk says so from the
    # ENTERQUEUE line (call_join_event), else the supervisors' waiting list stays empty
    # until a caller comes back from an unanswered ring.
    board = Wallboard()
    async with rig.console(SUPERVISOR[0]) as sup:
        await sup.watch(f"{topics.PREFIX}/calls/+/events")
        caller = rig.ast.inject_caller("800", args=("inbound", "800"))  # nobody logged in
        joined = await sup.next(lambda r: isinstance(r.message, schemas.CallStateEvent))
        assert isinstance(joined, schemas.CallStateEvent)
        assert (joined.call, joined.queue, joined.state, joined.trigger) == (
            caller.id, "sales", CallState.WAITING, CallTrigger.JOIN,
        )  # fmt: skip
        assert 0 <= time.time() - joined.at < 5  # its entry time (a restored one's, too)
        board.apply(joined)
        assert list(board.waiting) == [caller.id]
        assert board.waiting[caller.id].since == joined.at

        rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
        await rig.engine.login("1001")
        while caller.id in board.waiting:  # rung: off the list
            board.apply(await sup.next(lambda r: r.topic.kind is topics.TopicKind.CALL_EVENTS))
