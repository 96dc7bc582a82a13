"""The engine asks Asterisk for the events it reads and no others (ARI's eventFilter)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ari_app.client import EVENT_TYPES, parse_event
from ari_app.client.events import Dial
from ari_app.engine.app import ENGINE_EVENTS
from ari_app.engine.stasis import FAILED_DIAL, failed_dial_text
from sim import Answer
from tests.ari.conftest import TRACES, need, trace_lines
from tests.engine.conftest import Rig
from tests.engine.test_inbound_flow import together


def test_the_engine_reads_only_event_types_the_client_knows() -> None:
    assert set(ENGINE_EVENTS) <= set(EVENT_TYPES)


async def test_a_call_is_served_without_the_events_the_engine_does_not_read(rig: Rig) -> None:
    allowed, disallowed = rig.ast.bus.filter_of("callcenter")
    assert allowed == []
    assert {"ChannelVarset", "ChannelEnteredBridge", "ChannelLeftBridge", "BridgeCreated"} <= set(
        disallowed
    )
    assert not set(disallowed) & ENGINE_EVENTS
    assert "RESTResponse" not in disallowed

    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    await rig.engine.login("1001")
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await rig.until(lambda: rig.originated("PJSIP/1001"))
    (leg,) = rig.originated("PJSIP/1001")
    await rig.until(lambda: together(rig, caller.id, leg))
    rig.ast.remote_hangup(caller.id)
    await rig.until(lambda: not rig.ast.channels)
    # Asterisk raised bridge events for the call; its filter kept them off the socket.
    assert rig.events("ChannelEnteredBridge", caller.id)
    assert await rig.queue_log(caller.id) == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]


def _traced_dials() -> list[dict[str, Any]]:
    return [
        line["event"]
        for path in sorted(need(TRACES).glob("*.jsonl"))
        for line in trace_lines(path.name)
        if line.get("dir") == "event" and line["event"].get("type") == "Dial"
    ]


def test_only_the_dial_events_of_a_failed_ring_are_decoded_in_the_traces() -> None:
    dials = _traced_dials()
    failed = [d for d in dials if failed_dial_text(json.dumps(d))]
    assert [d["dialstatus"] for d in failed] == [
        d["dialstatus"] for d in dials if d["dialstatus"] in FAILED_DIAL
    ]
    assert failed, "agent_busy.jsonl has a Dial BUSY"
    assert len(failed) < len(dials)  # the ring's start and its ANSWER are not decoded


@given(
    status=st.sampled_from(["", "ANSWER", "NOANSWER", "CANCEL", *sorted(FAILED_DIAL)]),
    name=st.text(max_size=60) | st.sampled_from(['"dialstatus":"BUSY"', 'dialstatus": "BUSY']),
    compact=st.booleans(),
)
def test_a_dial_is_decoded_exactly_when_its_own_status_failed(
    status: str, name: str, compact: bool
) -> None:
    """Whatever a caller is named (the channel's caller id is in the event) and however
    the JSON is spaced."""
    event = {
        "type": "Dial",
        "caller": {"id": "1", "name": "c", "caller": {"name": name, "number": "100"}},
        "peer": {"id": "2", "name": "PJSIP/1001-1", "caller": {"name": name, "number": ""}},
        "dialstatus": status,
        "dialstring": "1001",
    }
    text = json.dumps(event, separators=(",", ":") if compact else None)
    assert failed_dial_text(text) is (status in FAILED_DIAL)


def test_the_sieve_drops_a_type_s_events_that_fail_its_test_and_keeps_the_rest() -> None:
    dials = _traced_dials()
    start = json.dumps(next(d for d in dials if d["dialstatus"] == ""))
    busy = json.dumps(next(d for d in dials if d["dialstatus"] == "BUSY"))
    sieve = {"Dial": failed_dial_text}
    assert parse_event(start, "ast1", sieve) is None
    event = parse_event(busy, "ast1", sieve)
    assert isinstance(event, Dial)
    assert event.dialstatus == "BUSY"
    assert event.server == "ast1"
    assert isinstance(parse_event(start, "ast1"), Dial)  # no sieve: all are decoded
