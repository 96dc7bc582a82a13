"""Queue counters for wallboards: offered, answered, abandoned, service level, ASA."""

from __future__ import annotations

from typing import Any

from callcenter.core.queue import QueueStats
from callcenter.core.spec import CallbackOffer, Strategy, Target, TargetKind
from tests.core.builders import Replay, queue, routing


def desk(**settings: Any) -> Replay:
    settings.setdefault("strategy", Strategy.LINEAR)
    return Replay(routing(queue(members=("1001", "1002"), service_level=20, **settings)))


def a_mixed_hour() -> Replay:
    """c1 answered after 10 s, c2 after 30 s, c3 abandons after 5 s, c4 after 40 s."""
    r = desk()
    r.calls("c1", "c2", "c3", "c4", gap=0)
    r.wait(5)
    r.caller_hangs_up("c3")
    r.wait(5)
    r.login("1001")
    r.answer("c1", "1001")
    r.wait(20)
    r.login("1002")
    r.answer("c2", "1002")
    r.wait(10)
    r.caller_hangs_up("c4")
    return r


def test_counters_of_a_mixed_hour() -> None:
    stats = a_mixed_hour().stats()

    assert stats.offered == 4
    assert stats.answered == 2
    assert stats.answered_in_service_level == 1
    assert stats.abandoned == 2
    assert stats.abandoned_in_service_level == 1


def test_service_level_leaves_short_abandons_out() -> None:
    # answered in 20 s / (answered + abandoned after 20 s) = 1 / (2 + 1)
    assert a_mixed_hour().stats().service_level == 1 / 3


def test_average_speed_of_answer() -> None:
    assert a_mixed_hour().stats().average_speed_of_answer == (10 + 30) / 2


def test_answer_exactly_at_the_threshold_is_in_service_level() -> None:
    r = desk()
    r.call("c1")
    r.wait(20)
    r.login("1001")
    r.answer("c1", "1001")

    assert r.stats().answered_in_service_level == 1


def test_no_service_level_before_any_call_counts() -> None:
    stats = desk().stats()

    assert stats.service_level is None
    assert stats.average_speed_of_answer is None


def test_service_level_is_none_when_every_call_was_a_short_abandon() -> None:
    r = desk()
    r.call("c1")
    r.wait(3)
    r.caller_hangs_up("c1")

    assert r.stats().service_level is None


def test_completed_calls_add_up_talk_time() -> None:
    r = desk()
    r.login("1001", "1002")
    r.calls("c1", "c2", gap=0)
    r.answer("c1", "1001")
    r.answer("c2", "1002")
    r.wait(30)
    r.caller_hangs_up("c1")
    r.wait(15)
    r.agent_hangs_up("c2", "1002")

    assert r.stats().completed == 2
    assert r.stats().total_talk == 75


def test_refused_overflowed_exited_and_callbacks_are_counted_apart() -> None:
    r = desk(
        max_length=3, max_wait=60, exit_key="0", exit_target=Target(TargetKind.HANGUP),
        callback=CallbackOffer(after=10),
    )  # fmt: skip
    r.calls("c1", "c2", "c3", gap=0)
    r.call("c4")  # full
    r.press("c2", "0")
    r.press("c3", "*")
    r.wait(60)  # c1 overflows; the callback c3 waits on

    assert r.stats() == QueueStats(offered=3, refused=1, exited=1, callbacks=1, overflowed=1)


def test_connected_callers_are_not_counted_as_abandoned_when_they_hang_up() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")
    r.wait(10)
    r.caller_hangs_up("c1")

    assert r.stats().abandoned == 0
