"""What a waiting caller hears: place in line, expected wait, periodic prompts."""

from __future__ import annotations

from typing import Any

from callcenter.core import commands as cmd
from callcenter.core.spec import Announcements, Strategy
from callcenter.core.timers import TimerKey, TimerKind
from tests.core.builders import Replay, queue, routing

EVERY_30 = Announcements(every=30, position=True, expected_wait=True)
PROMPTS = Announcements(periodic_prompts=("queue-thankyou", "queue-reason"), periodic_every=20)


def desk(announcements: Announcements, **settings: Any) -> Replay:
    settings.setdefault("strategy", Strategy.LINEAR)
    return Replay(routing(queue(members=("1001", "1002"), announcements=announcements, **settings)))


def announced(out: list[cmd.Command]) -> list[cmd.Announce]:
    return [c for c in out if isinstance(c, cmd.Announce)]


def test_caller_hears_place_and_expected_wait_on_joining() -> None:
    r = desk(EVERY_30, handle_time=120)
    r.login("1001")
    r.call("c0")
    r.answer("c0", "1001")
    r.wait(30)

    out = r.call("c1")
    out += r.wait(0)

    assert announced(out) == [cmd.Announce("c1", 1, 90.0)]  # 120 s handle time, 30 s gone


def test_announcement_repeats_with_the_current_place_in_line() -> None:
    r = desk(EVERY_30, handle_time=120)
    r.login("1001")
    r.call("c0")
    r.answer("c0", "1001")
    r.call("c1")
    r.call("c2")
    r.wait(0)

    out = r.wait(30)

    assert announced(out) == [cmd.Announce("c1", 1, 90.0), cmd.Announce("c2", 2, 210.0)]
    r.caller_hangs_up("c1")
    assert announced(r.wait(30)) == [cmd.Announce("c2", 1, 60.0)]


def test_position_only_announcement_leaves_the_wait_out() -> None:
    r = desk(Announcements(every=30, position=True))
    r.call("c1")

    assert announced(r.wait(0)) == [cmd.Announce("c1", 1, None)]


def test_expected_wait_only_announcement_leaves_the_place_out() -> None:
    r = desk(Announcements(every=30, expected_wait=True))
    r.login("1001", paused="lunch")
    r.login("1002")
    r.call("c0")
    r.answer("c0", "1002")
    r.call("c1")

    assert announced(r.wait(0)) == [cmd.Announce("c1", None, 180.0)]


def test_expected_wait_is_unknown_when_nobody_is_staffed() -> None:
    r = desk(EVERY_30)
    r.call("c1")

    assert announced(r.wait(0)) == [cmd.Announce("c1", 1, None)]


def test_periodic_prompts_play_in_turn() -> None:
    r = desk(PROMPTS)
    out = r.call("c1")

    assert out.started[TimerKey(TimerKind.PROMPT, "c1")] == 20
    played = [p.prompt for p in r.wait(70).of(cmd.PlayPrompt)]
    assert played == ["queue-thankyou", "queue-reason", "queue-thankyou"]


def test_announcements_stop_when_the_caller_is_answered() -> None:
    r = desk(Announcements(every=30, position=True, periodic_prompts=("p",), periodic_every=20))
    r.call("c1")
    r.wait(1)
    r.login("1001")

    out = r.answer("c1", "1001")

    assert {TimerKey(TimerKind.ANNOUNCE, "c1"), TimerKey(TimerKind.PROMPT, "c1")} <= set(
        out.cancelled
    )
    assert r.wait(100).of(cmd.Announce) == []


def test_no_announcement_while_an_agent_rings_for_the_caller() -> None:
    r = desk(EVERY_30, ring_timeout=60)
    r.call("c1")
    r.wait(1)
    r.login("1001")

    assert announced(r.wait(40)) == []


def test_caller_back_in_line_after_an_unanswered_ring_hears_the_announcements_again() -> None:
    r = desk(EVERY_30, ring_timeout=60, retry=5)
    r.call("c1")
    r.wait(1)
    r.login("1001")
    r.wait(40)  # the announcement due at 30 falls while ringing

    out = r.no_answer("c1", "1001")
    out += r.logout("1001")
    out += r.wait(0)

    assert [a.position for a in announced(out)] == [1]
    assert [a.position for a in announced(r.wait(30))] == [1]


def test_caller_rung_on_joining_hears_announcements_once_back_in_line() -> None:
    r = desk(Announcements(every=30, position=True, periodic_prompts=("p",), periodic_every=20))
    r.login("1001")
    out = r.call("c1")
    assert out.started.keys() == {TimerKey(TimerKind.RING, "c1", "1001")}

    out = r.no_answer("c1", "1001")

    assert set(out.started) >= {
        TimerKey(TimerKind.ANNOUNCE, "c1"),
        TimerKey(TimerKind.PROMPT, "c1"),
    }
    assert announced(r.wait(0)) == [cmd.Announce("c1", 1, None)]


def test_prompt_rhythm_is_kept_when_the_ring_was_short() -> None:
    r = desk(PROMPTS, retry=5)
    r.call("c1")
    r.wait(5)
    r.login("1001")
    r.wait(5)

    out = r.no_answer("c1", "1001")  # the prompt due at 20 is still running

    assert TimerKey(TimerKind.PROMPT, "c1") not in out.started
    assert r.timers[TimerKey(TimerKind.PROMPT, "c1")] == 20
