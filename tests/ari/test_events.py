"""Every event Asterisk sent in the recorded traces parses; known types come out typed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ari_app.client import EVENT_TYPES, parse_event
from ari_app.client.events import (
    ChannelDestroyed,
    ChannelHangupRequest,
    StasisStart,
)
from tests.ari.conftest import TRACES, need, trace_lines


def _traced_events() -> list[dict[str, Any]]:
    events = []
    for path in sorted(need(TRACES).glob("*.jsonl")):
        for line in trace_lines(path.name):
            if line.get("dir") == "event":
                events.append(line["event"])
            elif "dir" not in line and isinstance(line.get("type"), str):
                events.append(line)  # early_*.jsonl: plain events
    return events


def test_every_traced_event_parses_and_known_types_are_typed() -> None:
    events = _traced_events()
    typed = set()
    for raw in events:
        event = parse_event(json.dumps(raw), "ast1")
        cls = EVENT_TYPES.get(raw["type"])
        if cls is None:
            assert event is None
        else:
            assert isinstance(event, cls), raw
            assert event.server == "ast1"
            typed.add(raw["type"])
    assert {"StasisStart", "StasisEnd", "ChannelDtmfReceived", "ApplicationReplaced"} <= typed
    assert len(events) > 400


def test_stasis_start_of_an_agent_carries_its_app_args() -> None:
    starts = [
        parse_event(line["event"], "ast1")
        for line in trace_lines("queue_moh_ring_answer.jsonl")
        if line.get("dir") == "event" and line["event"]["type"] == "StasisStart"
    ]
    agent = [s for s in starts if isinstance(s, StasisStart) and s.args == ("agent", "1001")]
    assert agent
    assert agent[0].channel.id == "agent-1001-call-1"


def test_hangup_causes_are_read_as_recorded() -> None:
    events = [
        parse_event(line["event"], "ast1")
        for line in trace_lines("queue_moh_ring_answer.jsonl")
        if line.get("dir") == "event"
    ]
    soft = [e for e in events if isinstance(e, ChannelHangupRequest) and e.soft]
    # Soft-hangup flags, not Q.850: 32 for ARI DELETE, 16 when the dialplan ended (README).
    assert {e.cause for e in soft} == {16, 32}
    no_answer = [
        parse_event(line["event"], "ast1")
        for line in trace_lines("agent_no_answer.jsonl")
        if line.get("dir") == "event" and line["event"]["type"] == "ChannelDestroyed"
    ]
    assert {e.cause for e in no_answer if isinstance(e, ChannelDestroyed)} == {19}


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        b"\xff\xfe",
        "[1, 2]",
        '{"no_type": 1}',
        '{"type": "StasisStart", "application": "callcenter"}',  # no channel
        '{"type": "ChannelDtmfReceived", "channel": {"id": "1"}}',  # channel lacks name/state
        '{"type": "SomethingNew", "x": 1}',
    ],
)
def test_unusable_messages_are_dropped(
    message: str | bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="ari_app.client.events")
    assert parse_event(message, "ast1") is None
    assert caplog.records, "a dropped message is logged"
