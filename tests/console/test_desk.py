"""The agent desk's state from bus messages alone (no Textual)."""

from __future__ import annotations

from callcenter.bus.schemas import AgentStateMessage, CommandAction, OfferMessage, Reply
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


def test_figures_of_the_day_from_state_changes() -> None:
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
    desk.apply(state(AgentState.READY, AgentState.RINGING, T0 + 215, "no_answer"))
    desk.apply(state(AgentState.PAUSED, AgentState.READY, T0 + 220, "pause"))
    desk.apply(state(AgentState.READY, AgentState.PAUSED, T0 + 520, "unpause"))
    figures = desk.figures
    assert (figures.calls, figures.talk_time, figures.missed, figures.pause_time) == (
        1,
        120.0,
        1,
        300.0,
    )
    assert figures.average_talk == 120.0
    assert desk.time_in_state(T0 + 530) == 10.0


def test_retained_state_again_changes_nothing() -> None:
    desk = Desk("1001")
    assert desk.apply(state(AgentState.ON_CALL, AgentState.RINGING, T0))
    assert not desk.apply(state(AgentState.ON_CALL, AgentState.RINGING, T0))  # after a reconnect
    assert desk.figures.calls == 1


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
