"""The agent desk's state from bus messages alone (no Textual)."""

from __future__ import annotations

import json

from callcenter.bus import topics
from callcenter.bus.schemas import (
    AgentStateMessage,
    CommandAction,
    OfferMessage,
    OpenTicket,
    Reply,
    decode,
    encode,
)
from callcenter.core.states import AgentState
from console.desk import Desk
from console.i18n import Catalogue, duration

T0 = 1_795_753_044.0


def state(
    new: AgentState, old: AgentState, since: float, cause: str = "", call: str = ""
) -> AgentStateMessage:
    return AgentStateMessage(
        agent="1001", state=new, previous=old, since=since, cause=cause, call=call
    )


def offer(call: str = "c1", **fields: object) -> OfferMessage:
    return OfferMessage(call=call, agent="1001", queue="sales", timeout=15, offered_at=T0,
                        **fields)  # fmt: skip


def ok(action: CommandAction) -> Reply:
    return Reply(request_id="r", ok=True)


def test_the_desk_follows_the_states_and_takes_its_figures_from_the_engine() -> None:
    desk = Desk("1001")
    assert desk.state is None
    assert not desk.logged_in
    desk.apply(state(AgentState.READY, AgentState.LOGGED_OUT, T0, "login"))
    desk.apply(state(AgentState.RINGING, AgentState.READY, T0 + 10, "offer", "c1"))
    desk.apply(offer())
    desk.apply(state(AgentState.ON_CALL, AgentState.RINGING, T0 + 15, "answer", "c1"))
    desk.apply(state(AgentState.WRAP_UP, AgentState.ON_CALL, T0 + 135, "hangup", "c1"))
    assert desk.offer is not None  # kept through wrap-up, for the disposition
    desk.apply(state(AgentState.READY, AgentState.WRAP_UP, T0 + 150, "wrapup_done"))
    assert desk.offer is None
    desk.apply(state(AgentState.RINGING, AgentState.READY, T0 + 200, "offer", "c2"))
    desk.apply(offer("c2"))
    desk.apply(state(AgentState.READY, AgentState.RINGING, T0 + 215, "ring no_answer"))
    assert desk.offer is None  # the offer went elsewhere
    assert desk.time_in_state(T0 + 230) == 15.0
    # The console counts nothing itself: the figures are the engine's, from the store.
    assert desk.figures is None
    data: dict[str, str | int | float | bool] = {
        "start": T0 - 3600, "end": T0 + 230, "calls": 1, "offers": 2, "missed": 1,
        "talk_time": 120.0, "wrap_up_time": 15.0, "pause_time": 0.0, "logged_in_time": 230.0,
    }  # fmt: skip
    desk.replied(CommandAction.FIGURES, {}, Reply(request_id="r", ok=True, data=data))
    assert desk.figures is not None
    assert (desk.figures.calls, desk.figures.missed, desk.figures.average_handle) == (1, 1, 135.0)
    # An answer this console cannot read leaves the figures it has.
    broken = Reply(request_id="r", ok=True, data={"calls": "many"})
    desk.replied(CommandAction.FIGURES, {}, broken)
    assert desk.figures.calls == 1


def test_retained_state_again_changes_nothing() -> None:
    desk = Desk("1001")
    assert desk.apply(state(AgentState.ON_CALL, AgentState.RINGING, T0))
    assert not desk.apply(state(AgentState.ON_CALL, AgentState.RINGING, T0))  # after a reconnect
    assert desk.time_in_state(T0 + 5) == 5.0


def test_an_offers_pending_complaints_become_the_tickets_in_hand() -> None:
    desk = Desk("1001")
    pending = [
        OpenTicket(ticket=7, department="quality", status="assigned", updated_at=T0 - 60,
                   last_action="note", last_text="[b]refund[/b] promised"),
        OpenTicket(ticket=3, department="billing", status="open", updated_at=T0 - 86400,
                   last_action="create", last_text="double charge"),
    ]  # fmt: skip
    desk.apply(offer(open_tickets=pending))
    assert list(desk.tickets) == ["3", "7"]  # the most recently changed is the one in hand
    assert desk.tickets["7"].history == ["note: [b]refund[/b] promised"]
    assert desk.tickets["7"].status == "assigned"
    desk.apply(offer(open_tickets=pending))  # the enriched offer again: nothing doubled
    assert desk.tickets["7"].history == ["note: [b]refund[/b] promised"]


def test_hold_and_mute_change_only_on_the_engines_ok() -> None:
    desk = Desk("1001")
    desk.apply(state(AgentState.ON_CALL, AgentState.RINGING, T0))
    desk.apply(offer())
    desk.replied(CommandAction.HOLD, {}, Reply(request_id="r", ok=False, error="no call"))
    assert not desk.on_hold
    desk.replied(CommandAction.HOLD, {}, ok(CommandAction.HOLD))
    desk.replied(CommandAction.MUTE, {}, ok(CommandAction.MUTE))
    assert desk.on_hold
    assert desk.muted
    desk.apply(offer(history_pending=False))  # the same call's offer again, with its history
    assert desk.on_hold
    assert desk.muted
    desk.replied(CommandAction.TRANSFER, {"kind": "agent", "target": "1002", "attended": True},
                 ok(CommandAction.TRANSFER))  # fmt: skip
    assert desk.consulting == "1002"
    desk.replied(CommandAction.CONFERENCE, {}, ok(CommandAction.CONFERENCE))
    assert desk.consulting == ""
    desk.apply(state(AgentState.WRAP_UP, AgentState.ON_CALL, T0 + 60))
    assert not desk.on_hold
    assert not desk.muted


def test_ticket_history_from_replies() -> None:
    desk = Desk("1001")
    created = Reply(
        request_id="r", ok=True, data={"ticket": 7, "status": "open", "department": "quality"}
    )
    desk.replied(CommandAction.TICKET, {"op": "create", "text": "broken"}, created)
    closed = Reply(request_id="r", ok=True, data={"ticket": 7, "status": "closed"})
    desk.replied(CommandAction.TICKET, {"op": "close", "ticket": "7", "text": "replaced"}, closed)
    ticket = desk.tickets["7"]
    assert (ticket.department, ticket.status) == ("quality", "closed")
    assert ticket.history == ["create: broken", "close: replaced"]


def test_catalogue_and_durations() -> None:
    en, zh = Catalogue("en"), Catalogue("zh")
    assert (en("state.ready"), zh("state.ready")) == ("Ready", "就绪")
    assert zh("reply.failed", action="hold", error="x") == "hold：x"
    assert en("no.such.key") == "no.such.key"
    assert (duration(5), duration(65), duration(3725), duration(-3)) == (
        "0:05",
        "1:05",
        "1:02:05",
        "0:00",
    )


def test_pending_complaints_travel_only_when_there_are_some() -> None:
    """Added within v1: an offer without any has the payload an older console reads."""
    topic = topics.parse(topics.agent_offer("1001"))
    assert topic is not None
    plain = json.loads(encode(offer()))
    assert "open_tickets" not in plain
    assert set(plain) < set(OfferMessage.model_fields) | {"v"}
    pending = OpenTicket(ticket=3, department="billing", status="open", updated_at=T0,
                         last_action="create", last_text="<script>")  # fmt: skip
    carried = decode(topic, encode(offer(open_tickets=[pending])))
    assert isinstance(carried, OfferMessage)
    assert carried.open_tickets == [pending]
