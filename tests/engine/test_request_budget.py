"""The engine's REST budget per call, counted by the simulator: every request is a cost
on both sides at load (bench/load.py), so a request added to a call's path fails here.

A direct-queue call costs 4 requests to the agent's ring, 6 to the agent answering and
8 in all (13 before the restart marks were folded into one variable, marks.py; 11 before
the callers of a music class waited in one holding bridge, holding.py: made once, by the
first caller, with 2 requests more); the dialplan passes the CC_* variables as Stasis
arguments (entry.py), or the engine reads them with 4 GETs more.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

import sim.routes
import sim.server
from ari_app.engine.marks import MARK
from callcenter.core import commands as cmd
from sim import Answer, CallerId, NoAnswer
from sim.asterisk import SimAsterisk
from tests.engine.bridges import in_use
from tests.engine.conftest import Rig
from tests.engine.marked import marked

PASSED = ("CC_QUEUE=", "CC_PRIORITY=", "CC_VIP=", "CC_LANG=")
"""What the shipped dialplan passes for a caller the lookups found nothing about."""
_ID = re.compile(r"^/ari/(\w+)/[^/]+")


def _blank(match: re.Match[str]) -> str:
    return f"/ari/{match[1]}/{{id}}"


TO_RING = {
    "POST /channels/{id}/answer": 1,
    "POST /bridges/{id}/addChannel": 1,  # into the holding bridge of its music class
    "POST /channels/{id}/variable CC_QUEUED": 1,  # queue, priority, time: for a restart
    "POST /channels": 1,  # the agent's leg
}
WAITING_ROOM = {
    "POST /bridges": 1,  # the holding bridge of a music class, made by its first caller...
    "POST /bridges/{id}/moh": 1,  # ...with its music
}
TO_ANSWER = {
    "POST /bridges": 1,  # the mixing bridge...
    "POST /bridges/{id}/addChannel": 1,  # ...with both (the caller swapped over)
}
TO_HANG_UP = {
    "DELETE /channels/{id}": 1,  # the agent's leg
    "DELETE /bridges/{id}": 1,  # the mixing bridge
}


class Requests:
    """The REST requests the simulator answered, by kind (ids blanked, variable named)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: Counter[str] = Counter()
        original = sim.routes.dispatch

        def counted(ast: SimAsterisk, method: str, path: str, params: dict[str, Any]) -> Any:
            kind = f"{method} {_ID.sub(_blank, path).removeprefix('/ari')}"
            if kind.endswith("/variable"):
                kind += f" {params.get('variable', '')}"
            self.seen[kind] += 1
            return original(ast, method, path, params)

        # The server calls the name it imported: counted there, dispatched as before.
        monkeypatch.setattr(sim.server, "dispatch", counted)

    def take(self) -> Counter[str]:
        """The requests since the last take."""
        taken, self.seen = self.seen, Counter()
        return taken


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> Requests:
    return Requests(monkeypatch)


def _sum(*budgets: dict[str, int]) -> Counter[str]:
    total: Counter[str] = Counter()
    for budget in budgets:
        total.update(budget)
    return total


def _in_mixing(rig: Rig, channel: str) -> bool:
    live = rig.ast.channels.get(channel)
    return bool(live and live.bridge and rig.ast.bridges[live.bridge].bridge_type == "mixing")


async def test_direct_queue_call_rings_answers_and_ends_within_budget(
    rig: Rig, requests: Requests
) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.2))
    await rig.engine.login("1001")
    await rig.engine.idle()
    requests.take()
    caller = rig.ast.inject_caller(
        "800", caller=CallerId("Ann", "5551234"), args=("inbound", "800", *PASSED)
    )
    await rig.until(lambda: rig.originated("PJSIP/1001"))
    await rig.engine.idle()
    assert requests.take() == _sum(TO_RING, WAITING_ROOM)

    (leg,) = rig.originated("PJSIP/1001")
    await rig.until(lambda: _in_mixing(rig, caller.id) and _in_mixing(rig, leg))
    await rig.engine.idle()
    assert requests.take() == Counter(TO_ANSWER)

    rig.ast.remote_hangup(caller.id)
    await rig.until(lambda: not in_use(rig.ast) and leg not in rig.ast.channels)
    await rig.engine.idle()
    assert requests.take() == Counter(TO_HANG_UP)
    assert sum(_sum(TO_RING, TO_ANSWER, TO_HANG_UP).values()) == 8


async def test_the_next_callers_find_the_holding_bridge_made(rig: Rig, requests: Requests) -> None:
    rig.ast.endpoints.set("PJSIP/1001", NoAnswer())
    first = rig.ast.inject_caller("800", args=("inbound", "800", *PASSED))
    await rig.until(lambda: rig.ast.channels[first.id].variables.get(MARK))
    await rig.engine.idle()
    assert requests.take() == _sum(TO_RING, WAITING_ROOM) - Counter({"POST /channels": 1})
    second = rig.ast.inject_caller("800", args=("inbound", "800", *PASSED))
    await rig.until(lambda: rig.ast.channels[second.id].variables.get(MARK))
    await rig.engine.idle()
    assert requests.take() == Counter(TO_RING) - Counter({"POST /channels": 1})  # nobody rung
    # One bridge, one music: the callers hear the bridge's announcer, not each other.
    (holding,) = in_use(rig.ast).values()
    assert (holding.bridge_type, holding.moh) == ("holding", True)
    assert sorted(holding.channels) == sorted([first.id, second.id])

    rig.ast.remote_hangup(first.id)
    await rig.until(lambda: first.id not in rig.engine.calls.calls)
    await rig.engine.idle()
    assert requests.take() == Counter()  # the bridge stays, the others are in it
    assert holding.channels == [second.id]


async def test_without_stasis_arguments_the_variables_are_read_one_by_one(
    rig: Rig, requests: Requests
) -> None:
    """An older dialplan (``Stasis(callcenter,inbound,${EXTEN})``): 4 GETs more."""
    rig.ast.endpoints.set("PJSIP/1001", NoAnswer())
    await rig.engine.login("1001")
    await rig.engine.idle()
    requests.take()
    rig.ast.inject_caller("800", args=("inbound", "800"), variables={"CC_VIP": "1"})
    await rig.until(lambda: rig.originated("PJSIP/1001"))
    await rig.engine.idle()
    reads = {f"GET /channels/{{id}}/variable {name}": 1 for name in
             ("CC_QUEUE", "CC_PRIORITY", "CC_VIP", "CC_LANG")}  # fmt: skip
    assert requests.take() == _sum(TO_RING, WAITING_ROOM, reads)


async def test_passed_variables_decide_like_read_ones(rig: Rig, requests: Requests) -> None:
    """The queue and priority come from the arguments, not from a GET."""
    rig.ast.endpoints.set("PJSIP/1003", NoAnswer())
    await rig.engine.login("1003")
    await rig.engine.idle()
    requests.take()
    caller = rig.ast.inject_caller(
        "800", args=("inbound", "800", "CC_QUEUE=support", "CC_PRIORITY=7", "CC_VIP=", "CC_LANG=")
    )
    await rig.until(lambda: rig.originated("PJSIP/1003"))
    await rig.engine.idle()
    place = marked(rig.ast.channels[caller.id].variables)
    assert (place.queue, place.priority) == ("support", 7)
    assert not any(kind.startswith("GET") for kind in requests.take())


async def test_ivr_call_to_a_queue_within_budget(rig: Rig, requests: Requests) -> None:
    rig.ast.endpoints.set("PJSIP/1001", NoAnswer())
    await rig.engine.login("1001")
    await rig.engine.idle()
    requests.take()
    caller = rig.ast.inject_caller("801", args=("inbound", "801", *PASSED))
    await rig.until(lambda: requests.seen["POST /channels/{id}/play"])
    await rig.engine.idle()
    assert requests.take() == Counter({
        "POST /channels/{id}/answer": 1,
        "POST /channels/{id}/play": 1,  # the menu's prompt
    })  # fmt: skip

    rig.ast.press(caller.id, "2")  # to sales
    await rig.until(lambda: rig.originated("PJSIP/1001"))
    await rig.engine.idle()
    menu_left = {"DELETE /playbacks/{id}": 1}  # the prompt cut by the key
    ring = {k: v for k, v in TO_RING.items() if k != "POST /channels/{id}/answer"}
    assert requests.take() == _sum(menu_left, ring, WAITING_ROOM)


async def test_a_ring_cancelled_before_its_originate_costs_nothing(
    rig: Rig, requests: Requests
) -> None:
    """A caller who leaves while the agent's ring waits its turn (a mass hang-up at load):
    no originate and no hang-up of a channel that never was (a 404 per leg before)."""
    rig.ast.endpoints.set("PJSIP/1002", NoAnswer())
    caller = rig.ast.inject_caller("800", args=("inbound", "800", *PASSED))
    await rig.until(lambda: rig.ast.channels[caller.id].variables.get(MARK))
    await rig.engine.idle()
    requests.take()
    executor = rig.engine.executor
    ring = cmd.Ring(caller.id, "1002", "PJSIP/1002", 1.0, "sales")
    executor.execute(ring)
    executor.execute(cmd.CancelRing(caller.id, "1002"))  # before the originate's turn
    await rig.engine.idle()
    assert requests.take() == Counter()

    executor.execute(ring)
    await rig.until(lambda: rig.originated("PJSIP/1002"))
    executor.execute(cmd.CancelRing(caller.id, "1002"))  # ringing: hung up
    await rig.engine.idle()
    assert requests.take() == Counter({"POST /channels": 1, "DELETE /channels/{id}": 1})
