"""queue_log lines in Asterisk's format, checked against a trace of app_queue itself.

The trace (``shared/asterisk/traces/app_queue_queue_log.txt``, Asterisk 22.10.1,
queue ``support``, strategy leastrecent, members "Agent 1001" and "Agent 1002")
is copied below. Two fields differ by design and are normalised before comparing:

* the agent field: Asterisk writes the member name ("Agent 1002"), the core writes
  the agent id and leaves the name to the store (see ``commands.QueueLog``);
* CONNECT's second data field: Asterisk writes the uniqueid of the member's
  channel, which the core never sees; it writes the queued call's id.
"""

from __future__ import annotations

from callcenter.core import commands as cmd
from callcenter.core import queue_log
from callcenter.core.spec import EmptyCondition, Strategy, Target, TargetKind
from callcenter.store import queue_log as store_queue_log
from tests.core.builders import Replay, queue, routing

APP_QUEUE_TRACE = """\
1795753104|caller-qc1|support|NONE|ENTERQUEUE||5552001|1
1795753104|caller-qc1|support|Agent 1002|CONNECT|0|1795753104.143|0
1795753107|caller-qc2|support|NONE|ENTERQUEUE||5552002|1
1795753107|caller-qc2|support|Agent 1001|CONNECT|0|1795753107.147|0
1795753109|caller-qc3|support|NONE|ENTERQUEUE||5552003|1
1795753113|caller-qc1|support|Agent 1002|COMPLETEAGENT|0|9|1
1795753113|caller-qc3|support|Agent 1002|CONNECT|4|1795753113.151|0
1795753115|caller-qc4|support|NONE|ENTERQUEUE||5552004|1
1795753118|caller-qc4|support|NONE|ABANDON|1|1|3
1795753119|caller-qc2|support|Agent 1001|COMPLETECALLER|0|12|1
1795753121|caller-qc3|support|Agent 1002|COMPLETECALLER|4|8|1
"""
T0 = 1795753104

# Data fields per verb, as app_queue writes them (the ast_queue_log() calls in
# Asterisk 22's apps/app_queue.c; a "%s" of an empty string is one empty field).
ASTERISK_FIELDS = {
    "ENTERQUEUE": ("url", "callerid", "position"),
    "CONNECT": ("holdtime", "bridgedchanneluniqueid", "ringtime"),
    "COMPLETECALLER": ("holdtime", "calltime", "origposition"),
    "COMPLETEAGENT": ("holdtime", "calltime", "origposition"),
    "ABANDON": ("position", "origposition", "waittime"),
    "EXITWITHTIMEOUT": ("position", "origposition", "waittime"),
    "EXITWITHKEY": ("key", "position", "origposition", "waittime"),
    "EXITEMPTY": ("position", "origposition", "waittime"),
    "BLINDTRANSFER": ("extension", "context", "holdtime", "calltime", "origposition"),
    "ATTENDEDTRANSFER": ("BRIDGE", "bridge", "holdtime", "calltime", "origposition"),
    "RINGNOANSWER": ("ringtime_ms",),
    "RINGCANCELED": ("ringtime_ms",),
    "PAUSE": ("reason",),
    "UNPAUSE": ("reason",),
    "ADDMEMBER": ("PAUSED or empty",),
    "REMOVEMEMBER": ("empty",),
}


def normalised(line: str) -> str:
    fields = line.split("|")
    if fields[3].startswith("Agent "):
        fields[3] = fields[3].removeprefix("Agent ")
    if fields[4] == "CONNECT":
        fields[6] = "<member channel>"
    return "|".join(fields)


def written(out: list[cmd.Command]) -> list[str]:
    return [
        "|".join((str(round(q.time)), q.call, q.queue, q.agent, q.verb, *q.data))
        for q in out
        if isinstance(q, cmd.QueueLog) and q.verb not in ("ADDMEMBER", "REMOVEMEMBER")
    ]


def test_the_app_queue_reference_call_flow_logs_the_same_lines() -> None:
    spec = routing(queue(members=("1001", "1002"), strategy=Strategy.LEAST_RECENT))
    r = Replay(spec, now=T0 - 60)
    r.login("1002")  # idle the longest: app_queue gave it the first call
    r.wait(30)
    r.login("1001")
    r.wait_until(T0)
    r.call("caller-qc1", number="5552001")
    r.answer("caller-qc1", "1002")
    r.wait(3)
    r.call("caller-qc2", number="5552002")
    r.answer("caller-qc2", "1001")
    r.wait(2)
    r.call("caller-qc3", number="5552003")  # both agents busy
    r.wait(4)
    r.agent_hangs_up("caller-qc1", "1002")  # 1002 is rung for qc3 at once ...
    r.answer("caller-qc3", "1002")  # ... and answers
    r.wait(2)
    r.call("caller-qc4", number="5552004")
    r.wait(3)
    r.caller_hangs_up("caller-qc4")
    r.wait(1)
    r.caller_hangs_up("caller-qc2")
    r.wait(2)
    r.caller_hangs_up("caller-qc3")

    expected = [normalised(line) for line in APP_QUEUE_TRACE.splitlines()]
    assert [normalised(line) for line in written(r.history)] == expected


def test_every_verb_carries_the_fields_app_queue_writes() -> None:
    spec = routing(
        queue(
            "support", members=("1001", "1002"), strategy=Strategy.LINEAR, max_wait=100,
            exit_key="0", exit_target=Target(TargetKind.IVR, "main"), retry=1,
        ),
        queue("empty", members=("1002",), leave_empty=frozenset({EmptyCondition.PAUSED})),
    )  # fmt: skip
    r = Replay(spec)
    r.login("1001", "1002")  # ADDMEMBER
    r.pause("1002", "lunch")  # PAUSE
    r.call("e1", "empty")  # ENTERQUEUE, EXITEMPTY
    r.call("c1")  # rings 1001
    r.no_answer("c1", "1001")  # RINGNOANSWER
    r.wait(1)  # rings 1001 again
    r.caller_hangs_up("c1")  # RINGCANCELED, ABANDON
    r.call("c2")
    r.answer("c2", "1001")  # CONNECT
    r.calls("c3", "c4")
    r.press("c3", "0")  # EXITWITHKEY
    r.wait(100)  # EXITWITHTIMEOUT
    r.agent_hangs_up("c2", "1001")  # COMPLETEAGENT
    r.unpause("1002")  # UNPAUSE
    r.call("c5")
    r.talk("c5", "1001", 10)  # COMPLETECALLER
    r.call("c6")
    r.answer("c6", "1001")
    r.transfer("c6", "1001", "sales")  # BLINDTRANSFER
    r.call("c7")
    r.answer("c7", "1001")
    r.attended_transfer("c7", "1001", "cc-mix-7")  # ATTENDEDTRANSFER
    r.logout("1001")  # REMOVEMEMBER

    lines = r.history.of(cmd.QueueLog)

    assert {line.verb for line in lines} == set(ASTERISK_FIELDS)
    for line in lines:
        assert len(line.data) == len(ASTERISK_FIELDS[line.verb]), line
        assert not any("|" in field for field in line.data), line


def test_hold_and_talk_times_are_whole_seconds_and_ring_times_milliseconds() -> None:
    r = Replay(routing(queue(members=("1001",), retry=1)))
    r.call("c1")
    r.wait(2.4)
    r.login("1001")
    r.wait(1.7)
    ring = r.no_answer("c1", "1001")  # rang 1.7 s
    r.wait(1)  # rung again at 5.1
    r.wait(0.6)
    connect = r.answer("c1", "1001")  # held 5.7 s, rang 0.6 s
    r.wait(10.2)

    complete = r.caller_hangs_up("c1")

    assert ring.lines("RINGNOANSWER") == ["c1|support|1001|RINGNOANSWER|1700"]
    assert connect.lines("CONNECT") == ["c1|support|1001|CONNECT|6|c1|1"]
    assert complete.lines("COMPLETECALLER") == ["c1|support|1001|COMPLETECALLER|6|10|1"]


def test_member_events_name_no_call() -> None:
    r = Replay(routing(queue(members=("1001",))))

    out = r.login("1001")
    out += r.pause("1001", "lunch")
    out += r.unpause("1001")
    out += r.logout("1001")

    assert out.log == [
        "NONE|support|1001|ADDMEMBER|",
        "NONE|support|1001|PAUSE|lunch",
        "NONE|support|1001|UNPAUSE|",
        "NONE|support|1001|REMOVEMEMBER|",
    ]


def test_lines_app_queue_does_not_write_are_those_of_dialplans_and_the_store() -> None:
    spec = routing(
        queue("support", members=("1001",), max_length=1, wrapup=5),
        queue("closed", members=("1002",), join_empty=frozenset({EmptyCondition.UNAVAILABLE})),
    )
    r = Replay(spec)
    r.login("1001")
    r.call("c1")  # rings 1001

    out = r.call("c2")  # the line is full
    out += r.call("x1", "closed")  # nobody logged in
    r.answer("c1", "1001")
    r.wait(10)
    out += r.caller_hangs_up("c1")  # wrap-up starts
    out += r.wait(5)  # and ends

    assert out.log == [
        "c2|support|NONE|FULL",
        "x1|closed|NONE|JOINEMPTY",
        "c1|support|1001|COMPLETECALLER|0|10|1",
        "c1|NONE|1001|PAUSEALL|ACW",
        "c1|NONE|1001|UNPAUSEALL|ACW",
    ]


def test_the_core_and_the_store_agree_on_the_wrapup_reason() -> None:
    assert queue_log.WRAPUP_REASON == store_queue_log.WRAPUP_REASON
    assert queue_log.NONE == "NONE"
