"""The simulator's endpoint states and app subscriptions, mute directions and sent DTMF,
as Asterisk 22 answers them (errors.md, agent_unreachable.md, ari-api-docs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sim import Answer, NoAnswer, Unregistered
from tests.sim.conftest import Sim

API_DOCS = Path(__file__).resolve().parents[2] / ".." / "shared" / "asterisk" / "ari-api-docs"
SUBSCRIPTION = "/ari/applications/callcenter/subscription"


def state_changes(sim: Sim) -> list[dict[str, Any]]:
    return [e for e in sim.events if e["type"] == "EndpointStateChange"]


async def test_endpoint_state_change_reaches_only_subscribed_apps(sim: Sim) -> None:
    sim.ast.endpoints.set("PJSIP/1001", Answer())
    sim.ast.endpoints.set("PJSIP/1002", Answer())
    reply = await sim.http.post(SUBSCRIPTION, params={"eventSource": "endpoint:PJSIP/1001"})
    assert reply.status_code == 200
    assert reply.json()["endpoint_ids"] == ["PJSIP/1001"]
    sim.ast.unregister("PJSIP/1001")
    sim.ast.unregister("PJSIP/1002")  # not subscribed: no event
    sim.ast.unregister("PJSIP/1001")  # no change: no event
    await sim.settle()
    (event,) = state_changes(sim)
    assert event["endpoint"] == {
        "technology": "PJSIP", "resource": "1001", "state": "offline", "channel_ids": [],
    }  # fmt: skip
    assert event["application"] == "callcenter"
    assert "timestamp" in event
    unreachable = await sim.http.post(
        "/ari/channels", params={"endpoint": "PJSIP/1001", "app": "callcenter"}
    )
    assert (unreachable.status_code, unreachable.json()) == (500, {"error": "Allocation failed"})
    assert (await sim.http.get("/ari/endpoints/PJSIP/1001")).json()["state"] == "offline"


async def test_registering_again_restores_the_phone_and_its_behaviour(sim: Sim) -> None:
    sim.ast.endpoints.set("PJSIP/1001", NoAnswer())
    await sim.http.post(SUBSCRIPTION, params={"eventSource": "endpoint:PJSIP"})  # whole tech
    sim.ast.unregister("PJSIP/1001")
    assert isinstance(sim.ast.endpoints.policies["PJSIP/1001"], Unregistered)
    sim.ast.register("PJSIP/1001")
    assert isinstance(sim.ast.endpoints.policies["PJSIP/1001"], NoAnswer)
    sim.ast.register("PJSIP/1003")  # a new phone, answering by default
    await sim.settle()
    changes = [(e["endpoint"]["resource"], e["endpoint"]["state"]) for e in state_changes(sim)]
    assert changes == [("1001", "offline"), ("1001", "online"), ("1003", "online")]


@pytest.mark.parametrize(
    ("method", "source", "status", "message"),
    [
        ("POST", None, 400, "Missing parameter eventSource"),
        ("POST", "bogus:thing", 400, "Invalid event source URI scheme"),
        ("POST", "channel:no-such-channel", 422, "Event source does not exist"),
        ("POST", "endpoint:PJSIP/9999", 422, "Event source does not exist"),
        ("DELETE", "bridge:no-such-bridge", 422, "Event source was not subscribed to"),
    ],
)
async def test_subscription_errors_are_asterisks(
    sim: Sim, method: str, source: str | None, status: int, message: str
) -> None:
    params = {"eventSource": source} if source else {}
    reply = await sim.http.request(method, SUBSCRIPTION, params=params)
    assert (reply.status_code, reply.json()) == (status, {"message": message})


async def test_unknown_application_and_unsubscribe(sim: Sim) -> None:
    sim.ast.endpoints.set("PJSIP/1001", Answer())
    reply = await sim.http.post(
        "/ari/applications/nobody/subscription", params={"eventSource": "endpoint:PJSIP/1001"}
    )
    assert (reply.status_code, reply.json()) == (404, {"message": "Application not found"})
    await sim.http.post(SUBSCRIPTION, params={"eventSource": "endpoint:PJSIP/1001"})
    reply = await sim.http.delete(SUBSCRIPTION, params={"eventSource": "endpoint:PJSIP/1001"})
    assert (reply.status_code, reply.json()["endpoint_ids"]) == (200, [])
    sim.ast.unregister("PJSIP/1001")
    await sim.settle()
    assert state_changes(sim) == []


async def test_mute_directions_and_sent_dtmf_are_kept(sim: Sim) -> None:
    caller = sim.ast.inject_caller("100")
    url = f"/ari/channels/{caller.id}"
    assert (await sim.http.post(url + "/mute", params={"direction": "in"})).status_code == 204
    assert caller.muted == {"in"}
    await sim.http.post(url + "/mute")  # both, Asterisk's default
    assert caller.muted == {"in", "out"}
    await sim.http.delete(url + "/mute", params={"direction": "out"})
    assert caller.muted == {"in"}
    bad = await sim.http.post(url + "/mute", params={"direction": "sideways"})
    assert (bad.status_code, bad.json()) == (400, {"message": "Invalid direction specified"})
    assert (await sim.http.post(url + "/dtmf", params={"dtmf": "12#"})).status_code == 204
    assert caller.dtmf_sent == ["12#"]
    await sim.settle()
    assert [e["type"] for e in sim.events] == ["StasisStart"]  # none of it makes an event


async def test_the_endpoint_state_event_matches_asterisks_api_description(sim: Sim) -> None:
    docs = API_DOCS / "events.json"
    if not docs.is_file():
        pytest.skip(f"{docs} is absent: Asterisk's API description lives outside the repository")
    sim.ast.endpoints.set("PJSIP/1001", Answer())
    await sim.http.post(SUBSCRIPTION, params={"eventSource": "endpoint:PJSIP/1001"})
    sim.ast.unregister("PJSIP/1001")
    await sim.settle()
    (event,) = state_changes(sim)
    model = json.loads(docs.read_text())["models"]["EndpointStateChange"]
    assert set(model["properties"]) <= set(event)
    endpoint = json.loads((API_DOCS / "endpoints.json").read_text())["models"]["Endpoint"]
    assert set(event["endpoint"]) == set(endpoint["properties"])
    states = endpoint["properties"]["state"]["allowableValues"]["values"]
    assert event["endpoint"]["state"] in states
