"""Replays the REST calls of the recorded traces against the simulator, with the same
caller actions at the same (virtual) times, and compares statuses, bodies and, per
channel, the order of the events the engine relies on."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from sim import Answer, Busy, CallerId, NoAnswer, Unregistered
from tests.sim.conftest import Sim, trace_lines

# Noise the engine does not rely on and the simulator does not reproduce (see README of sim).
IGNORED = {"ChannelDialplan", "ChannelConnectedLine", "ChannelCallerId"}
TIME_KEYS = {"creationtime", "timestamp"}

Action = Callable[[Sim, dict[str, str]], None]


def _hangup_caller(sim: Sim, ids: dict[str, str]) -> None:
    sim.ast.remote_hangup(ids["caller"])


def _press_2(sim: Sim, ids: dict[str, str]) -> None:
    sim.ast.press(ids["caller"], "2", duration_ms=120)


# trace -> (caller actions at recorded times, agent policies)
SCENARIOS: dict[str, tuple[list[tuple[float, Action]], dict[str, Any]]] = {
    "queue_moh_ring_answer": (
        [(8.962, _hangup_caller)],
        {"Local/1001@agents-ring": Answer(after=2.0)},
    ),
    "ivr_playback_dtmf": ([(1.739, _press_2)], {}),
    "hold_mute_variables_continue": ([], {}),
    "agent_no_answer": ([], {"Local/noanswer@agents-noanswer": NoAnswer()}),
    "agent_busy": ([], {"Local/busy@agents-busy": Busy()}),
    "agent_unreachable": ([], {"PJSIP/agent1002": Unregistered()}),
    "snoop_whisper_barge": (
        [(8.161, _hangup_caller)],
        {"Local/1001@agents": Answer(), "Local/2001@agents": Answer()},
    ),
}


class IdMap:
    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def to_sim(self, text: str) -> str:
        for recorded in sorted(self.ids, key=len, reverse=True):
            text = text.replace(recorded, self.ids[recorded])
        return text

    def learn(self, recorded: Any, simulated: Any) -> None:
        if isinstance(recorded, dict) and isinstance(simulated, dict):
            if isinstance(recorded.get("id"), str) and isinstance(simulated.get("id"), str):
                self.ids.setdefault(recorded["id"], simulated["id"])
            for key in recorded.keys() & simulated.keys():
                if isinstance(recorded[key], dict):
                    self.learn(recorded[key], simulated[key])


def normalize(value: Any, ids: IdMap | None = None) -> Any:
    if isinstance(value, dict):
        out = {k: normalize(v, ids) for k, v in value.items() if k not in TIME_KEYS}
        if isinstance(out.get("channels"), list):
            out["channels"] = sorted(out["channels"])  # Asterisk lists them in hash order
        return out
    if isinstance(value, list):
        return [normalize(v, ids) for v in value]
    if isinstance(value, str):
        text = ids.to_sim(value) if ids else value
        return re.sub(r"-[0-9a-f]{8}(;[12])?$", r"-N\1", text)
    return value


def event_key(event: dict[str, Any]) -> tuple[Any, ...]:
    fields = [event["type"], event.get("cause"), event.get("soft"), event.get("dialstatus")]
    fields += [event.get("digit"), tuple(event.get("args", ()))]
    if event["type"] == "ChannelVarset":
        fields += [event["variable"], event["value"]]
    for key in ("playback", "recording"):
        if key in event:
            fields.append(event[key]["state"])
    if "bridge" in event:
        fields.append(event["bridge"]["id"])
    return tuple(fields)


def per_channel(events: list[dict[str, Any]], ids: IdMap | None) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for event in events:
        if event["type"] in IGNORED:
            continue
        if event["type"] == "ChannelVarset" and event["variable"] == "BRIDGEPEER":
            continue
        owner = event.get("channel") or event.get("peer")
        target = (event.get("playback") or event.get("recording") or {}).get("target_uri")
        key = owner["id"] if owner else target or event.get("bridge", {}).get("id", "?")
        key = ids.to_sim(key) if ids else key
        out.setdefault(key, []).append(normalize(event_key(event), ids))
    return out


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_trace_replays_like_asterisk(sim: Sim, name: str) -> None:
    lines = trace_lines(f"{name}.jsonl")
    actions, policies = SCENARIOS[name]
    for endpoint, policy in policies.items():
        sim.ast.endpoints.set(endpoint, policy)
    ids = IdMap()
    actions = sorted(actions, key=lambda a: a[0])
    now = 0.0
    mismatches: list[str] = []
    for line in lines:
        at = line.get("t_sent", line["t"])
        while actions and actions[0][0] <= at:
            when, action = actions.pop(0)
            await sim.advance(max(0.0, when - now))
            now = max(now, when)
            action(sim, {"caller": ids.to_sim("caller")})
        if line["dir"] != "rest":
            if line["dir"] == "event" and line["event"]["type"] == "StasisStart":
                ids.learn(line["event"]["channel"], {"id": _caller_id(sim, line, ids)})
            continue
        await sim.advance(max(0.0, at - now))
        now = max(now, at)
        query = line["query"]
        if line["method"] == "POST" and query.get("context") == "caller-sim":
            _inject_caller(sim, line, ids)
            continue
        response = await sim.http.request(
            line["method"],
            ids.to_sim(line["path"]),
            params={k: ids.to_sim(v) for k, v in query.items()},
            json=line["body"],
        )
        got = response.json() if response.content else None
        if response.status_code < 300:
            ids.learn(line["response"], got)
            if line["method"] == "POST" and line["path"] == "/ari/channels" and got:
                peer = sim.ast.channels[got["id"]].peer
                recorded = line["response"]["id"]
                if peer is not None and "otherChannelId" not in query and "." in recorded:
                    epoch, seq = recorded.rsplit(".", 1)
                    ids.ids.setdefault(f"{epoch}.{int(seq) + 1}", peer.id)
        want = (line["status"], normalize(line["response"], ids))
        have = (response.status_code, normalize(got))
        if want != have:
            mismatches.append(f"{line['method']} {line['path']} {query}: {want} != {have}")
    await sim.advance(5.0)
    recorded_events = [line["event"] for line in lines if line["dir"] == "event"]
    want_events = per_channel(recorded_events, ids)
    have_events = per_channel(sim.events, None)
    for channel, sequence in want_events.items():
        if have_events.get(channel) != sequence:
            mismatches.append(f"events of {channel}:\n  {sequence}\n  {have_events.get(channel)}")
    assert not mismatches, "\n".join(mismatches)


def _caller_id(sim: Sim, line: dict[str, Any], ids: IdMap) -> str:
    recorded = str(line["event"]["channel"]["id"])
    return ids.ids.get(recorded, recorded)


def _inject_caller(sim: Sim, line: dict[str, Any], ids: IdMap) -> None:
    """The traces' callers were `Local/<exten>@from-test` whose `;2` half entered Stasis;
    the StasisStart that follows in the trace names the recorded `;2` id."""
    query = line["query"]
    exten = query["endpoint"].split("/")[1].split("@")[0]
    caller = CallerId.parse(query["callerId"])
    answered = exten != "101"  # from-test,101 enters Stasis without Answer
    channel = sim.ast.inject_caller(exten, caller=caller, answered=answered)
    recorded_far = line["response"]["id"]
    epoch, seq = recorded_far.rsplit(".", 1)
    assert channel.peer is not None
    ids.ids[recorded_far] = channel.peer.id
    ids.ids[f"{epoch}.{int(seq) + 1}"] = channel.id
    ids.ids["caller"] = channel.id
