"""Configuration reload while calls are waiting and agents are busy."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from callcenter.core import commands as cmd
from callcenter.core.spec import Member, Membership, Strategy, Target, TargetKind
from callcenter.core.states import AgentState, CallState
from callcenter.core.timers import TimerKey, TimerKind
from tests.core.builders import Replay, agent, queue, routing

VOICEMAIL = Target(TargetKind.VOICEMAIL, "sales")


def sales_and_support(**support: Any) -> Replay:
    spec = routing(
        queue("sales", members=("1001",), overflow=VOICEMAIL),
        queue("support", members=("1001", "1002"), strategy=Strategy.LINEAR, **support),
    )
    return Replay(spec)


def test_reload_keeps_waiting_callers_in_order() -> None:
    r = sales_and_support()
    r.calls("c1", "c2", "c3", queue="support")
    spec = r.router.spec
    support = replace(spec.queues["support"], strategy=Strategy.RINGALL, ring_timeout=30)

    r.reload(replace(spec, queues={**spec.queues, "support": support}))

    assert r.line("support") == ["c1", "c2", "c3"]
    assert r.login("1002").rings == [("c1", "1002")]


def test_reload_keeps_each_callers_waiting_time() -> None:
    r = sales_and_support()
    r.call("c1", "support")
    r.wait(40)
    r.reload(routing(queue("support", members=("1001", "1002"), strategy=Strategy.RINGALL)))
    r.wait(5)
    r.login("1001")

    out = r.answer("c1", "1001")

    assert out.lines("CONNECT") == ["c1|support|1001|CONNECT|45|c1|0"]


def test_reload_with_a_new_setting_applies_to_the_next_offer() -> None:
    r = sales_and_support()
    r.call("c1", "support")
    r.reload(routing(queue("support", members=("1001", "1002"), ring_timeout=40)))

    out = r.login("1001")

    assert out.of(cmd.Ring)[0].timeout == 40


def test_removed_queue_sends_its_waiting_callers_to_its_overflow() -> None:
    r = sales_and_support()
    r.calls("s1", "s2", queue="sales")
    r.call("p1", "support")

    out = r.reload(routing(queue("support", members=("1001", "1002"))))

    assert out.left == [
        cmd.LeaveQueue("s1", "sales", cmd.LeaveReason.UNKNOWN_QUEUE, VOICEMAIL),
        cmd.LeaveQueue("s2", "sales", cmd.LeaveReason.UNKNOWN_QUEUE, VOICEMAIL),
    ]
    assert r.call_state("s1") is CallState.DONE
    assert r.line("support") == ["p1"]


def test_removed_queue_stops_ringing_for_its_caller_and_frees_the_agent() -> None:
    r = sales_and_support()
    r.login("1001")
    r.call("s1", "sales")
    r.call("p1", "support")

    out = r.reload(routing(queue("support", members=("1001", "1002"))))

    assert out.ring_cancelled == ["1001"]
    assert out.rings == [("p1", "1001")]


def test_callers_of_a_removed_queue_leave_with_a_queue_log_line() -> None:
    r = sales_and_support()
    r.login("1001")
    r.call("s1", "sales")  # rings 1001
    r.wait(3)
    r.call("s2", "sales")

    out = r.reload(routing(queue("support", members=("1001", "1002"))))

    # Every ENTERQUEUE gets its end: EXITEMPTY, the queue has no members any more. The
    # ring is withdrawn by the core, not cancelled by the caller: no RINGCANCELED.
    assert out.log == [
        "NONE|sales|1001|REMOVEMEMBER|",
        "s1|sales|NONE|EXITEMPTY|1|1|3",
        "s2|sales|NONE|EXITEMPTY|1|2|0",
    ]


def test_removed_queue_lets_a_connected_call_end_normally() -> None:
    r = sales_and_support(wrapup=0)
    r.login("1001")
    r.call("s1", "sales")
    r.answer("s1", "1001")
    r.reload(routing(queue("support", members=("1001", "1002"))))
    r.wait(20)

    out = r.caller_hangs_up("s1")

    assert out.lines("COMPLETECALLER") == ["s1|sales|1001|COMPLETECALLER|0|20|1"]
    assert r.state("1001") is AgentState.READY


def test_removed_queue_refuses_new_callers() -> None:
    r = sales_and_support()
    r.reload(routing(queue("support", members=("1001", "1002"))))

    out = r.call("s1", "sales")

    assert out == [cmd.LeaveQueue("s1", "sales", cmd.LeaveReason.UNKNOWN_QUEUE, None)]


def test_queue_added_back_takes_callers_again() -> None:
    r = sales_and_support()
    spec = r.router.spec
    r.reload(routing(queue("support", members=("1001", "1002"))))
    r.reload(spec)
    r.login("1001")

    assert r.call("s1", "sales").rings == [("s1", "1001")]


def test_removed_agent_is_logged_out() -> None:
    r = sales_and_support()
    r.login("1001", "1002")

    out = r.reload(routing(queue("support", members=("1001",))))

    assert ("1002", AgentState.READY, AgentState.LOGGED_OUT) in out.state_changes
    assert "1002" not in r.router.agents


def test_removed_agent_on_a_call_is_logged_out_after_it() -> None:
    r = sales_and_support(wrapup=0)
    r.login("1002")
    r.call("c1", "support")
    r.answer("c1", "1002")
    r.reload(routing(queue("support", members=("1001",))))
    assert r.state("1002") is AgentState.ON_CALL

    out = r.caller_hangs_up("c1")

    assert out.state_changes == [("1002", AgentState.ON_CALL, AgentState.LOGGED_OUT)]


def test_removed_agent_ringing_gives_the_caller_back_to_the_line() -> None:
    r = sales_and_support()
    r.login("1002")
    r.call("c1", "support")
    r.login("1001")

    out = r.reload(routing(queue("support", members=("1001",))))

    assert out.of(cmd.CancelRing) == [cmd.CancelRing("c1", "1002")]
    assert out.rings == [("c1", "1001")]


def test_new_member_becomes_eligible_for_waiting_callers() -> None:
    r = sales_and_support()
    r.login("1001")
    r.call("c0", "sales")
    r.answer("c0", "1001")
    r.call("c1", "support")
    r.reload(routing(queue("support", members=("1001", "1002")), agents=[agent("1003")]))
    r.login("1003")  # logged in, but in no queue yet

    out = r.reload(routing(queue("support", members=("1001", "1002", "1003"))))

    assert out.rings == [("c1", "1003")]


def test_new_member_with_a_delay_is_offered_the_caller_once_it_waited_long_enough() -> None:
    r = sales_and_support()
    r.call("c1", "support")
    r.reload(routing(queue("support", members=("1002",)), agents=[agent("1001")]))
    r.login("1001")
    r.wait(10)
    delayed = agent("1001", queues=(Membership("support", delay=30),))

    r.reload(routing(queue("support", members=("1002",)), agents=[delayed]))

    assert r.wait(20).rings == [("c1", "1001")]


def test_member_moved_to_a_lower_tier_waits_for_the_tier_to_open() -> None:
    r = sales_and_support(tier_wait=20)
    r.call("c1", "support")
    r.wait(5)
    spec = routing(queue("support", members=(Member("1001", penalty=1),), tier_wait=20))
    r.reload(spec)

    assert r.login("1001").rung == []
    assert r.wait(15).rings == [("c1", "1001")]


def test_reload_keeps_agent_states_and_pauses() -> None:
    r = sales_and_support()
    r.login("1001", paused="lunch")
    r.login("1002")
    spec = r.router.spec

    out = r.reload(spec)

    assert r.states("1001", "1002") == [AgentState.PAUSED, AgentState.READY]
    assert out == []
    assert r.router.agents["1001"].pause_reason == "lunch"
    assert r.unpause("1001").log == ["NONE|sales|1001|UNPAUSE|", "NONE|support|1001|UNPAUSE|"]


def test_reload_keeps_the_timers_running() -> None:
    r = sales_and_support(max_wait=60)
    r.call("c1", "support")
    r.reload(r.router.spec)

    assert r.timers == {TimerKey(TimerKind.MAX_WAIT, "c1"): 60}
    assert r.wait(60).left[0].reason is cmd.LeaveReason.OVERFLOW


# -- membership changes in queue_log ---------------------------------------------------------


def test_reload_logs_the_queues_a_logged_in_agent_joins_and_leaves() -> None:
    r = sales_and_support()
    r.login("1001")  # sales and support

    out = r.reload(
        routing(queue("support", members=("1001",)), queue("billing", members=("1001",)))
    )

    assert out.log == ["NONE|sales|1001|REMOVEMEMBER|", "NONE|billing|1001|ADDMEMBER|"]


def test_reload_adds_a_paused_agent_paused_with_its_reason() -> None:
    r = sales_and_support()
    r.login("1002", paused="lunch")  # support only

    out = r.reload(routing(queue("sales", members=("1002",)), queue("support", members=("1002",))))

    assert out.log == ["NONE|sales|1002|ADDMEMBER|PAUSED", "NONE|sales|1002|PAUSE|lunch"]


def test_reload_logs_no_membership_of_logged_out_agents() -> None:
    r = sales_and_support()

    out = r.reload(
        routing(queue("support", members=("1002",)), queue("billing", members=("1001",)))
    )

    assert out.log == []


def test_reload_of_the_same_memberships_logs_nothing() -> None:
    r = sales_and_support()
    r.login("1001")
    r.call("c1", "sales")
    members = agent("1001", queues=(Membership("sales", priority=2),))  # priority only

    out = r.reload(routing(queue("sales", members=("1001",)), queue("support"), agents=[members]))

    assert out.log == []


def test_removed_agent_leaves_each_of_its_queues() -> None:
    r = sales_and_support()
    r.login("1001", "1002")

    out = r.reload(routing(queue("support", members=("1002",))))

    assert out.log == [
        "NONE|sales|1001|REMOVEMEMBER|",
        "NONE|support|1001|REMOVEMEMBER|",
    ]


def test_removed_agent_on_a_call_leaves_its_queues_at_once_and_logs_out_after() -> None:
    r = sales_and_support(wrapup=0)
    r.login("1002")
    r.call("c1", "support")
    r.answer("c1", "1002")

    removed = r.reload(routing(queue("support", members=("1001",))))
    after = r.caller_hangs_up("c1")

    assert removed.log == ["NONE|support|1002|REMOVEMEMBER|"]
    assert after.log == ["c1|support|1002|COMPLETECALLER|0|0|1"]
    assert r.state("1002") is AgentState.LOGGED_OUT


def test_removed_queue_logs_its_logged_in_members_out_of_it() -> None:
    r = sales_and_support()
    r.login("1001", "1002")

    out = r.reload(routing(queue("support", members=("1001", "1002"))))

    assert out.log == ["NONE|sales|1001|REMOVEMEMBER|"]


def test_member_added_by_skill_on_reload_is_logged() -> None:
    r = sales_and_support()
    r.login("1002")
    skilled = agent("1002", skills={"billing": 2})

    out = r.reload(
        routing(
            queue("support", members=("1002",)),
            queue("billing", members=(), members_by_skill="billing >= 1"),
            agents=[skilled],
        )
    )

    assert out.log == ["NONE|billing|1002|ADDMEMBER|"]
