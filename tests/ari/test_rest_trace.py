"""Each client call sends exactly the method, path, query and body Asterisk received in
the recorded traces for the same action, and reads the recorded response back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ari_app.client import (
    AllocationFailedError,
    AriBadRequestError,
    AriClient,
    AriConflictError,
    AriHttpError,
    AriNotFoundError,
    AriServerError,
    AriUnprocessableError,
)
from tests.ari.conftest import trace_lines
from tests.ari.fake_ari import FakeAri, Recorded

Call = Callable[[AriClient], Awaitable[Any]]

CASES: list[tuple[str, Call, type[AriHttpError] | None]] = [
    # queue_moh_ring_answer: holding bridge with MOH, agent originate, mixing bridge, recording
    (
        "queue_moh_ring_answer",
        lambda c: c.bridges.create("holding", name="queue-support", bridge_id="hold-support-1"),
        None,
    ),
    (
        "queue_moh_ring_answer",
        lambda c: c.channels.originate(
            "Local/1001@agents-ring",
            app="callcenter",
            app_args=["agent", "1001"],
            caller_id="Support Queue <100>",
            ring_timeout=15,
            channel_id="agent-1001-call-1",
            other_channel_id="agent-1001-call-1-far",
        ),
        None,
    ),
    (
        "queue_moh_ring_answer",
        lambda c: c.bridges.add_channel("hold-support-1", "1795752523.24", role="participant"),
        None,
    ),
    ("queue_moh_ring_answer", lambda c: c.bridges.start_moh("hold-support-1", "default"), None),
    ("queue_moh_ring_answer", lambda c: c.bridges.stop_moh("hold-support-1"), None),
    (
        "queue_moh_ring_answer",
        lambda c: c.bridges.remove_channel("hold-support-1", "1795752523.24"),
        None,
    ),
    (
        "queue_moh_ring_answer",
        lambda c: c.bridges.record(
            "mix-call-1",
            "call-1-recording",
            "wav",
            if_exists="overwrite",
            beep=False,
            max_duration_seconds=30,
        ),
        None,
    ),
    ("queue_moh_ring_answer", lambda c: c.recordings.get_live("call-1-recording"), None),
    ("queue_moh_ring_answer", lambda c: c.recordings.stop("call-1-recording"), None),
    ("queue_moh_ring_answer", lambda c: c.recordings.get_stored("call-1-recording"), None),
    ("queue_moh_ring_answer", lambda c: c.recordings.delete_stored("call-1-recording"), None),
    ("queue_moh_ring_answer", lambda c: c.bridges.get("hold-support-1"), None),
    ("queue_moh_ring_answer", lambda c: c.bridges.destroy("mix-call-1"), None),
    ("queue_moh_ring_answer", lambda c: c.bridges.list(), None),
    ("queue_moh_ring_answer", lambda c: c.applications.get("callcenter"), None),
    # ivr_playback_dtmf
    (
        "ivr_playback_dtmf",
        lambda c: c.channels.play(
            "1795752460.6", "sound:queue-thereare", lang="en", playback_id="pb-ivr-1"
        ),
        None,
    ),
    ("ivr_playback_dtmf", lambda c: c.playbacks.get("pb-ivr-1"), None),
    ("ivr_playback_dtmf", lambda c: c.playbacks.stop("pb-ivr-1"), None),
    ("ivr_playback_dtmf", lambda c: c.channels.hangup("1795752460.6", reason="normal"), None),
    (
        "ivr_playback_dtmf",
        lambda c: c.channels.send_dtmf("1795752460.5", "2", duration=100),
        AriConflictError,
    ),
    # hold_mute_variables_continue
    ("hold_mute_variables_continue", lambda c: c.channels.ring("1795752690.59"), None),
    ("hold_mute_variables_continue", lambda c: c.channels.ring_stop("1795752690.59"), None),
    ("hold_mute_variables_continue", lambda c: c.channels.answer("1795752690.59"), None),
    ("hold_mute_variables_continue", lambda c: c.channels.hold("1795752690.59"), None),
    ("hold_mute_variables_continue", lambda c: c.channels.unhold("1795752690.59"), None),
    ("hold_mute_variables_continue", lambda c: c.channels.mute("1795752690.59", "both"), None),
    ("hold_mute_variables_continue", lambda c: c.channels.unmute("1795752690.59", "in"), None),
    (
        "hold_mute_variables_continue",
        lambda c: c.channels.mute("1795752690.59", "sideways"),
        AriBadRequestError,
    ),
    (
        "hold_mute_variables_continue",
        lambda c: c.channels.start_moh("1795752690.59", "default"),
        None,
    ),
    ("hold_mute_variables_continue", lambda c: c.channels.stop_moh("1795752690.59"), None),
    ("hold_mute_variables_continue", lambda c: c.channels.start_silence("1795752690.59"), None),
    ("hold_mute_variables_continue", lambda c: c.channels.stop_silence("1795752690.59"), None),
    (
        "hold_mute_variables_continue",
        lambda c: c.channels.set_variable("1795752690.59", "__CC_INHERIT", "inherited"),
        None,
    ),
    (
        "hold_mute_variables_continue",
        lambda c: c.channels.get_variable("1795752690.59", "CC_MISSING"),
        AriNotFoundError,
    ),
    (
        "hold_mute_variables_continue",
        lambda c: c.channels.get_variable("1795752690.59", "BAD_FUNC(x)"),
        AriServerError,
    ),
    (
        "hold_mute_variables_continue",
        lambda c: c.channels.continue_in_dialplan("1795752690.59", "from-test", "300", 1),
        None,
    ),
    # snoop_whisper_barge
    (
        "snoop_whisper_barge",
        lambda c: c.channels.snoop(
            "agent-1001-snoop", "callcenter", spy="both", whisper="none", app_args="snoop,listen"
        ),
        None,
    ),
    (
        "snoop_whisper_barge",
        lambda c: c.channels.snoop(
            "agent-1001-snoop",
            "callcenter",
            spy="both",
            whisper="out",
            app_args=["snoop", "whisper"],
            snoop_id="snoop-whisper-5",
        ),
        None,
    ),
    # transfer_redirect
    (
        "transfer_redirect",
        lambda c: c.channels.redirect("1795752795.72", "Local/301@from-test"),
        None,
    ),
    (
        "transfer_redirect",
        lambda c: c.channels.redirect("1795752795.72", "PJSIP/agent1001"),
        AriUnprocessableError,
    ),
    (
        "transfer_redirect",
        lambda c: c.channels.move("1795752802.76", "callcenter-nowhere", "moved"),
        None,
    ),
    (
        "transfer_redirect",
        lambda c: c.channels.originate(
            "Local/1002@agents",
            app="callcenter",
            app_args="agent,1002",
            channel_id="xfer-agent-1002",
            other_channel_id="xfer-agent-1002-far",
            originator="1795752795.72",
            ring_timeout=15,
        ),
        None,
    ),
    (
        "transfer_redirect",
        lambda c: c.bridges.add_channel("mix-xfer-7", ["1795752795.72", "xfer-agent-1002"]),
        None,
    ),
    ("transfer_redirect", lambda c: c.channels.hangup("xfer-agent-1002", reason_code="16"), None),
    # agent_unreachable: 500 {"error": "Allocation failed"}
    ("agent_unreachable", lambda c: c.endpoints.get("PJSIP", "agent1002"), None),
    (
        "agent_unreachable",
        lambda c: c.channels.originate(
            "PJSIP/agent1002",
            app="callcenter",
            app_args="agent,1002",
            caller_id="Support Queue <100>",
            ring_timeout=15,
        ),
        AllocationFailedError,
    ),
    (
        "agent_unreachable",
        lambda c: c.channels.create(
            "PJSIP/agent1002", "callcenter", app_args="agent,1002", channel_id="agent-1002-create"
        ),
        AllocationFailedError,
    ),
    # reconnect, errors
    ("reconnect", lambda c: c.applications.list(), None),
    ("agent_busy", lambda c: c.channels.list(), None),
    (
        "errors",
        lambda c: c.applications.subscribe("callcenter", "bogus:thing"),
        AriBadRequestError,
    ),
    ("errors", lambda c: c.playbacks.control("pb-long", "bogus"), AriBadRequestError),
    ("errors", lambda c: c.asterisk.ping(), None),
]


def _replay(lines: list[dict[str, Any]]) -> Callable[[Recorded], tuple[int, Any]]:
    """Answer a request as Asterisk did for the identical recorded one, or with 599."""

    def answer(req: Recorded) -> tuple[int, Any]:
        for line in lines:
            if (
                line.get("dir") == "rest"
                and (line["method"], line["path"], line["query"])
                == (req.method, req.path, req.query)
                and line["body"] == req.body
            ):
                return line["status"], line["response"]
        return 599, {"message": f"not in trace: {req}"}

    return answer


@pytest.fixture
async def client(fake: FakeAri) -> AsyncIterator[AriClient]:
    async def ignore(_: Any) -> None:
        return None

    ari = AriClient(fake.server(), on_event=ignore, on_resync=ignore)
    yield ari
    await ari.aclose()


@pytest.mark.parametrize(
    ("trace", "call", "error"), CASES, ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(CASES)]
)
async def test_request_matches_trace(
    fake: FakeAri,
    client: AriClient,
    trace: str,
    call: Call,
    error: type[AriHttpError] | None,
) -> None:
    fake.script = _replay(trace_lines(f"{trace}.jsonl"))
    if error is None:
        await call(client)
    else:
        with pytest.raises(error) as caught:
            await call(client)
        assert caught.value.status != 599, caught.value.message
    assert len(fake.requests) == 1


async def test_originate_variables_go_in_the_json_body(fake: FakeAri, client: AriClient) -> None:
    fake.reply("POST", "/ari/channels", 200, {"id": "a1", "name": "Local/1@x-1;1", "state": "Down"})
    channel = await client.channels.originate(
        "Local/1@x", app="callcenter", variables={"CC_QUEUE": "support"}
    )
    assert channel.id == "a1"
    [req] = fake.requests
    assert req.query == {"endpoint": "Local/1@x", "app": "callcenter"}
    assert req.body == {"variables": {"CC_QUEUE": "support"}}


async def test_an_undeclared_parameter_is_refused_before_sending(
    fake: FakeAri, client: AriClient
) -> None:
    from ari_app.client import operations as ops

    with pytest.raises(ValueError, match="bogus"):
        await client.rest.call(ops.CHANNELS_ANSWER, {"channelId": "x"}, {"bogus": "1"})
    assert fake.requests == []
