"""`redirect` and `move` on the simulator answer as Asterisk 22 did in transfer_redirect."""

from __future__ import annotations

from typing import Any

from tests.sim.conftest import Sim, trace_lines


def recorded(action: str) -> list[dict[str, Any]]:
    return [
        line
        for line in trace_lines("transfer_redirect.jsonl")
        if line["dir"] == "rest" and line["path"].endswith("/" + action)
    ]


async def test_redirect_on_a_local_channel_answers_like_the_trace(sim: Sim) -> None:
    caller = sim.ast.inject_caller("100")
    requests = [r for r in recorded("redirect") if "sip:" not in r["query"].get("endpoint", "")]
    assert len(requests) == 4  # (A): 204, wrong tech, no endpoint, no resource
    for request in requests:
        reply = await sim.http.post(f"/ari/channels/{caller.id}/redirect", params=request["query"])
        body = reply.json() if reply.content else None
        assert (reply.status_code, body) == (request["status"], request["response"])
    await sim.settle()
    assert [e["type"] for e in sim.events] == ["StasisStart"]  # and nothing happened
    assert sim.ast.channels[caller.id].in_stasis


async def test_redirect_on_a_pjsip_channel_is_accepted_and_the_channel_stays(sim: Sim) -> None:
    caller = sim.ast.inject_caller("100", trunk="carrier")
    (request,) = [r for r in recorded("redirect") if "sip:" in r["query"].get("endpoint", "")]
    reply = await sim.http.post(f"/ari/channels/{caller.id}/redirect", params=request["query"])
    assert reply.status_code == request["status"] == 204
    await sim.settle()
    assert sim.ast.channels[caller.id].in_stasis  # until the app hangs it up (D)


async def test_move_to_an_app_without_a_websocket_fails_with_an_event(sim: Sim) -> None:
    caller = sim.ast.inject_caller("100")
    (request,) = recorded("move")
    reply = await sim.http.post(f"/ari/channels/{caller.id}/move", params=request["query"])
    assert reply.status_code == request["status"] == 204
    await sim.advance(0)  # the event follows the 204, as recorded
    (failed,) = [e for e in sim.events if e["type"] == "ApplicationMoveFailed"]
    (traced,) = [
        line["event"]
        for line in trace_lines("transfer_redirect.jsonl")
        if line["dir"] == "event" and line["event"]["type"] == "ApplicationMoveFailed"
    ]
    assert (failed["destination"], failed["args"]) == (traced["destination"], traced["args"])
    assert failed["channel"]["id"] == caller.id
    assert sim.ast.channels[caller.id].in_stasis  # it stays in its app


async def test_move_to_a_connected_app_ends_stasis_here_and_starts_it_there(sim: Sim) -> None:
    caller = sim.ast.inject_caller("100")
    moved: list[str] = []
    sim.ast.bus.connect("other", moved.append)
    reply = await sim.http.post(
        f"/ari/channels/{caller.id}/move", params={"app": "other", "appArgs": "a,b"}
    )
    assert reply.status_code == 204
    await sim.settle()
    assert [e["type"] for e in sim.events] == ["StasisStart", "StasisEnd"]
    assert len(moved) == 1
    assert '"StasisStart"' in moved[0]
    assert '"args": ["a", "b"]' in moved[0]
    assert sim.ast.channels[caller.id].app == "other"
