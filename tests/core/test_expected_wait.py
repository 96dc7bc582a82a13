"""Expected wait, checked against waiting.py's formula with numbers worked out by hand.

    wait(k) = remaining[(k - 1) mod N] + floor((k - 1) / N) * handle_time

N staffed members (logged in, not paused, phone reachable); remaining is 0 when
ready, the rest of the handle time when on a call, the rest of the wrap-up when
wrapping up, a whole handle time when ringing.
"""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.core.spec import Strategy
from tests.core.builders import Replay, agent, queue, routing

MEMBERS = ("1001", "1002", "1003", "1004")


def floor(**settings: Any) -> Replay:
    settings.setdefault("strategy", Strategy.LINEAR)
    settings.setdefault("wrapup", 30)
    return Replay(routing(queue(members=MEMBERS, **settings)))


def expected(r: Replay, *positions: int) -> list[float | None]:
    return [r.router.expected_wait("support", k, r.now) for k in positions]


def busy_floor(**settings: Any) -> Replay:
    """At 30 s: 1001 on a call since 0, 1002 wrapping up since 20, 1003 ready, 1004 paused."""
    r = floor(**settings)
    r.login(*MEMBERS)
    r.pause("1004")
    r.call("c1")
    r.answer("c1", "1001")
    r.call("c2")
    r.answer("c2", "1002")
    r.wait(20)
    r.caller_hangs_up("c2")
    r.wait(10)
    return r


def test_expected_wait_with_the_default_handle_time() -> None:
    r = busy_floor()  # nothing measured yet: 180 s assumed

    # remaining, sorted: ready 0, wrap-up 30 - 10 = 20, call 180 - 30 = 150
    assert expected(r, 1, 2, 3) == [0, 20, 150]
    # a second round: each adds one more handle time
    assert expected(r, 4, 5, 6, 7) == [180, 200, 330, 360]


def test_expected_wait_with_a_configured_default_handle_time() -> None:
    r = busy_floor(handle_time=100)

    assert expected(r, 1, 2, 3, 4) == [0, 20, 70, 100]


def test_expected_wait_uses_the_recent_handle_times_once_measured() -> None:
    r = busy_floor()
    r.wait(20)  # 1002's wrap-up ends at 50: handle time 20 s talk + 30 s wrap-up = 50
    r.wait(20)  # 70
    r.caller_hangs_up("c1")  # 1001 talked 70 s
    r.wait(30)  # 100: its wrap-up ends, handle time 100

    # average (50 + 100) / 2 = 75; 1001, 1002 and 1003 are all ready
    assert expected(r, 1, 3, 4, 7) == [0, 0, 75, 150]


def test_call_longer_than_the_handle_time_counts_as_ending_now() -> None:
    r = floor(handle_time=60)
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")
    r.wait(90)

    assert expected(r, 1, 2) == [0, 60]


def test_ringing_agent_counts_a_whole_handle_time() -> None:
    r = floor(handle_time=60)
    r.login("1001")
    r.call("c1")

    assert expected(r, 1) == [60]


def test_paused_logged_out_and_unreachable_agents_do_not_count() -> None:
    r = floor(handle_time=60)
    r.login("1001", "1002", "1003")
    r.pause("1001")
    r.phone("1002", reachable=False)
    r.call("c1")
    r.answer("c1", "1003")
    r.wait(20)

    assert expected(r, 1, 2) == [40, 100]


def test_expected_wait_is_unknown_with_nobody_staffed() -> None:
    r = floor()
    r.login("1001", paused="lunch")

    assert expected(r, 1) == [None]


def test_agent_wrapup_override_is_used_for_the_rest_of_its_wrapup() -> None:
    spec = routing(queue(members=("1001",), wrapup=30), agents=[agent("1001", wrapup=60)])
    r = Replay(spec)
    r.login("1001")
    r.call("c1")
    r.talk("c1", "1001", 10)
    r.wait(10)

    assert expected(r, 1) == [50]


@pytest.mark.parametrize(("position", "wait"), [(0, 0), (-3, 0)])
def test_position_below_one_counts_as_first(position: int, wait: float) -> None:
    r = floor()
    r.login("1001")

    assert expected(r, position) == [wait]
