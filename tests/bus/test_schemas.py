import json
import logging

import pytest

from callcenter.bus import schemas, topics
from callcenter.bus.client import parse_received
from callcenter.bus.schemas import (
    AgentCommand,
    AgentCounts,
    CommandAction,
    MessageError,
    Reply,
)
from callcenter.core.commands import AgentStateChanged, CallStateChanged, Connect, Ring
from callcenter.core.queue import QueueStats
from callcenter.core.states import AgentState, CallState, CallTrigger

NOW = 1_700_000_000.5


def roundtrip(topic: str, message: schemas.BusMessage) -> object:
    parsed = topics.parse(topic)
    assert parsed is not None
    return schemas.decode(parsed, schemas.encode(message))


def test_agent_state_from_the_core_round_trips():
    change = AgentStateChanged("1001", AgentState.READY, AgentState.PAUSED, "pause", reason="lunch")
    message = schemas.agent_state_message(change, NOW)
    assert message.v == 1
    assert (message.state, message.previous, message.reason, message.since) == (
        AgentState.PAUSED,
        AgentState.READY,
        "lunch",
        NOW,
    )
    assert roundtrip(topics.agent_state("1001"), message) == message


def test_offer_from_ring_keeps_caller_text_literally():
    ring = Ring(call="c1", agent="1001", endpoint="PJSIP/1001", timeout=15, queue="sales")
    name = "[b]Boss[/b] <script>alert(1)</script> 王小明"
    message = schemas.offer_message(ring, NOW, caller_name=name, tags=["[red]"], vip=True)
    decoded = roundtrip(topics.agent_offer("1001"), message)
    assert decoded == message
    assert isinstance(decoded, schemas.OfferMessage)
    assert decoded.caller_name == name
    assert decoded.tags == ["[red]"]


def test_call_events_from_the_core_round_trip_as_a_tagged_union():
    topic = topics.call_events("c1")
    state = schemas.call_state_event(
        CallStateChanged("c1", "sales", CallState.WAITING, CallState.RINGING, CallTrigger.OFFER),
        NOW,
    )
    ring = schemas.call_ring_event(Ring("c1", "1001", "PJSIP/1001", 15, "sales"), NOW)
    connect = schemas.call_connect_event(Connect("c1", "1001", "sales", record=True), NOW)
    for message in (state, ring, connect):
        assert roundtrip(topic, message) == message
    assert json.loads(schemas.encode(connect))["kind"] == "connect"


def test_queue_stats_carry_service_level():
    stats = QueueStats(offered=10, answered=8, answered_in_service_level=6, abandoned=2)
    message = schemas.queue_stats_message(
        "sales", stats, NOW, waiting=3, longest_wait=42.0, agents=AgentCounts(ready=2, busy=5)
    )
    assert message.service_level == pytest.approx(0.6)
    assert roundtrip(topics.queue_stats("sales"), message) == message


def test_command_and_reply_round_trip():
    command = AgentCommand(request_id="r1", action=CommandAction.PAUSE, params={"reason": "lunch"})
    assert roundtrip(topics.agent_cmd("1001"), command) == command
    ok = Reply(request_id="r1", ok=True)
    failed = Reply(request_id="r1", ok=False, error="not your call")
    for reply in (ok, failed):
        assert roundtrip(topics.agent_reply("1001", "r1"), reply) == reply


def test_alert_round_trips():
    alert = schemas.AlertMessage(
        kind="service_level", queue="sales", text="SL 60% < 80%", value=0.6, target=0.8, at=NOW
    )
    assert roundtrip(topics.ALERTS, alert) == alert


def test_a_reply_says_why_it_failed_and_only_then():
    with pytest.raises(ValueError, match="says why"):
        Reply(request_id="r1", ok=False)
    with pytest.raises(ValueError, match="no error"):
        Reply(request_id="r1", ok=True, error="x")


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"{}",
        b'{"v": 2, "request_id": "r1", "action": "pause"}',
        b'{"v": 1, "request_id": "r1", "action": "format_disk"}',
        b'{"v": 1, "request_id": "../x", "action": "pause"}',
        b'{"v": 1, "request_id": "r1", "action": "pause", "agent": "1002"}',
        b"\xff\xfe",
    ],
)
def test_malformed_commands_are_refused(payload):
    with pytest.raises(MessageError):
        schemas.decode(topics.Topic(topics.TopicKind.AGENT_CMD, agent="1001"), payload)


def test_oversized_payload_is_refused_before_parsing():
    payload = b'{"v": 1, "request_id": "r1", "action": "pause", "params": {"x": "' + b"a" * 70_000
    with pytest.raises(MessageError, match="exceeds"):
        schemas.decode(topics.Topic(topics.TopicKind.AGENT_CMD, agent="1001"), payload)


def test_an_offer_for_another_agent_on_my_topic_is_refused():
    offer = schemas.offer_message(Ring("c1", "1002", "PJSIP/1002", 15, "sales"), NOW)
    with pytest.raises(MessageError, match="topic"):
        schemas.decode(
            topics.Topic(topics.TopicKind.AGENT_OFFER, agent="1001"),
            offer.model_dump_json().encode(),
        )


def test_a_reply_on_another_request_topic_is_refused():
    reply = Reply(request_id="r2", ok=True)
    with pytest.raises(MessageError, match="request_id"):
        schemas.decode(topics.parse(topics.agent_reply("1001", "r1")), schemas.encode(reply))  # type: ignore[arg-type]


def test_text_too_long_to_encode_is_refused():
    with pytest.raises(ValueError, match="at most"):
        schemas.AlertMessage(kind="surge", queue="q", text="x" * 5000, at=NOW)


def test_the_client_parser_logs_and_drops_bad_messages(caplog):
    caplog.set_level(logging.WARNING, logger="callcenter.bus.client")
    assert parse_received(topics.agent_cmd("1001"), b"{nope") is None
    assert parse_received("somewhere/else", b"{}") is None
    assert parse_received(topics.agent_cmd("1001"), b"x" * 70_000) is None
    ours = [r for r in caplog.records if r.name == "callcenter.bus.client"]
    assert [r.getMessage()[:30] for r in ours] == [
        "bus: dropped malformed message",
        "bus: dropped message on unknow",
        "bus: dropped malformed message",
    ]
