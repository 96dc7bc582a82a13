"""An agent transfers the connected caller: app_queue's transfer lines, then wrap-up.

app_queue (``handle_blind_transfer()``, ``log_attended_transfer()`` in Asterisk 22's
``apps/app_queue.c``) ends the agent's part of a transferred call with
``BLINDTRANSFER|exten|context|holdtime|calltime|origposition`` or
``ATTENDEDTRANSFER|BRIDGE|<bridge>|holdtime|calltime|origposition`` instead of
COMPLETEAGENT; the member's wrap-up follows as after any call.
"""

from __future__ import annotations

from callcenter.core import commands as cmd
from callcenter.core.states import AgentState, CallState
from callcenter.core.timers import TimerKind
from tests.core.builders import Replay, queue, routing


def talking(wrapup: float = 10) -> Replay:
    """c1 waited 4 s, then talks with 1001 since 12 s later (at t=16)."""
    r = Replay(routing(queue(members=["1001"], wrapup=wrapup), queue("sales", members=["1002"])))
    r.call("c1")
    r.wait(4)
    r.login("1001")
    r.answer("c1", "1001")
    r.wait(12)
    return r


def test_blind_transfer_logs_where_the_caller_went_and_starts_wrap_up() -> None:
    r = talking()

    out = r.transfer("c1", "1001", "sales")

    assert out.log[0] == "c1|support|1001|BLINDTRANSFER|sales|queue|4|12|1"
    assert "COMPLETEAGENT" not in out.verbs
    assert r.state("1001") is AgentState.WRAP_UP
    assert r.call_state("c1") is CallState.DONE
    assert out.lines("PAUSEALL") == ["c1|NONE|1001|PAUSEALL|ACW"]
    assert r.stats().completed == 1
    r.wait_for(TimerKind.WRAPUP, agent="1001")
    assert r.state("1001") is AgentState.READY


def test_the_transferred_caller_enters_the_next_queue_under_the_same_id() -> None:
    r = talking()
    r.transfer("c1", "1001", "sales")
    r.login("1002")

    out = r.call("c1", "sales")

    assert out.verbs == ["ENTERQUEUE"]
    assert out.rung == ["1002"]


def test_a_blind_transfer_to_a_number_names_the_outbound_context() -> None:
    r = talking(wrapup=0)

    out = r.transfer("c1", "1001", "+4930123456", "callcenter-outbound")

    assert out.log[0] == "c1|support|1001|BLINDTRANSFER|+4930123456|callcenter-outbound|4|12|1"
    assert r.state("1001") is AgentState.READY  # no wrap-up configured


def test_attended_transfer_names_the_bridge_the_caller_joined() -> None:
    r = talking()

    out = r.attended_transfer("c1", "1001", "cc-mix-1")

    assert out.log[0] == "c1|support|1001|ATTENDEDTRANSFER|BRIDGE|cc-mix-1|4|12|1"
    assert r.state("1001") is AgentState.WRAP_UP


def test_a_late_transfer_report_changes_nothing() -> None:
    r = talking()
    r.caller_hangs_up("c1")  # the caller left first: COMPLETECALLER already

    assert r.transfer("c1", "1001", "sales") == []
    assert r.attended_transfer("c1", "1002", "b") == []


def test_only_the_connected_agent_transfers() -> None:
    r = talking()
    r.login("1002")

    assert r.transfer("c1", "1002", "sales") == []
    assert r.call_state("c1") is CallState.CONNECTED
    assert not r.history.of(cmd.LeaveQueue)
