"""Every event Asterisk sent in the recorded traces parses; known types come out typed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from ari_app.client import EVENT_TYPES, events, parse_event
from ari_app.client.events import (
    ASTERISK_EVENT_TYPES,
    UNREAD_EVENT_TYPES,
    ChannelDestroyed,
    ChannelHangupRequest,
    StasisStart,
)
from tests.ari.conftest import API_DOCS, TRACES, need, trace_lines


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
        '{"type":"StasisStart","channel":{"id":"1","name":"PJSIP/a","state":"Up"',  # cut short
        '{"type":"ChannelDestroyed","cause":"x","channel":{"id":"1","name":"a","state":"Up"}}',
        '{"channel":{"id":"1","name":"a","state":"Up","channelvars":{"type":"StasisEnd"}}}',
    ],
)
def test_unusable_messages_are_dropped(
    message: str | bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="ari_app.client.events")
    assert parse_event(message, "ast1") is None
    assert caplog.records, "a dropped message is logged"


@pytest.mark.parametrize(
    "layout",
    [
        {"separators": (",", ":")},  # as Asterisk sends it (ari.conf pretty=no)
        {"indent": 2},  # ari.conf pretty=yes
    ],
    ids=["compact", "pretty"],
)
def test_events_read_from_the_text_equal_those_read_from_the_decoded_json(
    layout: dict[str, Any],
) -> None:
    # Text with `"type"` once is typed without json.loads; a dict always goes the
    # general way: both must give the same event, or drop it alike.
    for raw in _traced_events():
        from_text = parse_event(json.dumps(raw, **layout), "ast1")
        assert from_text == parse_event(raw, "ast1"), raw
        if from_text is not None:
            assert from_text.server == "ast1"
            with pytest.raises(ValidationError):
                from_text.server = "ast2"  # type: ignore[misc]


def test_a_nested_type_key_does_not_decide_the_event_type() -> None:
    start = next(
        line["event"]
        for line in trace_lines("ivr_playback_dtmf.jsonl")
        if line.get("dir") == "event" and line["event"]["type"] == "StasisStart"
    )
    # A channel variable named `type` (ari.conf channelvars) placed before the event's
    # own type, and a caller whose name is the word itself: still a StasisStart.
    channel = {**start["channel"], "channelvars": {"type": "ChannelVarset"}}
    channel["caller"] = {"name": "type", "number": "5551001"}
    reordered = {"channel": channel, **{k: v for k, v in start.items() if k != "channel"}}
    event = parse_event(json.dumps(reordered, separators=(",", ":")), "ast1")
    assert isinstance(event, StasisStart)
    assert event.channel.channelvars == {"type": "ChannelVarset"}
    assert event.channel.caller.name == "type"
    # A variable whose value reads like a type is no type either: the ChannelVarset
    # setting it is still one nobody reads.
    varset = {"variable": "X", "value": '"type":"StasisStart"', "type": "ChannelVarset",
              "channel": start["channel"]}  # fmt: skip
    assert parse_event(json.dumps(varset, separators=(",", ":")), "ast1") is None


def test_types_nobody_reads_are_dropped_and_named_once_in_the_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "_unknown_seen", set())  # as in a fresh process
    caplog.set_level("DEBUG", logger="ari_app.client.events")
    unread = [
        raw for raw in _traced_events() if raw["type"] in ("ChannelVarset", "ChannelDialplan")
    ]
    assert len(unread) > 100
    for raw in unread:
        assert parse_event(json.dumps(raw, separators=(",", ":")), "ast1") is None
    named = sorted(r.getMessage() for r in caplog.records if r.levelname == "INFO")
    assert named == [
        "ari event ignored server=ast1 type=ChannelDialplan",
        "ari event ignored server=ast1 type=ChannelVarset",
    ]
    assert len(caplog.records) == len(unread)  # the others at DEBUG, nothing louder


def test_the_event_types_known_are_asterisk_22s_and_the_unread_ones_are_the_rest() -> None:
    documented = json.loads((need(API_DOCS) / "events.json").read_text())
    subtypes = set(documented["models"]["Event"]["subTypes"])
    assert set(ASTERISK_EVENT_TYPES) == subtypes
    assert set(EVENT_TYPES) <= subtypes
    # Asked not to be sent: everything but what is typed, and the answers on the socket.
    assert set(UNREAD_EVENT_TYPES) == subtypes - set(EVENT_TYPES) - {"RESTResponse"}
