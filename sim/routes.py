"""The REST surface: `(method, path)` -> an operation on the simulated Asterisk.

Paths follow ../shared/asterisk/ari-api-docs; an unknown path is 404 `Resource not
found` and a known path with another method 405 `Invalid method` (errors.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sim import bridges, channels, endpoints
from sim.agents import Unregistered
from sim.asterisk import SimAsterisk
from sim.errors import AriError, allocation_failed
from sim.originate import originate

Reply = tuple[int, Any]
Handler = Callable[[SimAsterisk, dict[str, str], dict[str, Any]], Reply]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    pattern = re.compile("^/ari" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, pattern, handler))
        return handler

    return register


def dispatch(ast: SimAsterisk, method: str, path: str, params: dict[str, Any]) -> Reply:
    known_path = False
    for verb, pattern, handler in ROUTES:
        match = pattern.match(path)
        if match is None:
            continue
        known_path = True
        if verb == method:
            try:
                return handler(ast, match.groupdict(), params)
            except AriError as exc:
                return exc.status, exc.body
    if known_path:
        return 405, {"message": "Invalid method"}
    return 404, {"message": "Resource not found"}


NO_CONTENT: Reply = (204, None)


def _app(ast: SimAsterisk, channel_id: str) -> str:
    return ast.channels[channel_id].app if channel_id in ast.channels else "callcenter"


# channels ----------------------------------------------------------------------------


@route("GET", "/channels")
def _channels_list(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, [c.json() for c in ast.channels.values()]


@route("POST", "/channels")
def _originate(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, originate(ast, p).json()


@route("POST", "/channels/create")
def _create(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    policy = ast.endpoints.policy(str(p.get("endpoint") or ""))
    if policy is None or isinstance(policy, Unregistered):
        raise allocation_failed()  # agent_unreachable.md
    raise AriError(501, "channels/create is not simulated")


@route("GET", "/channels/{channelId}")
def _channel_get(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, ast.channel(m["channelId"]).json()


@route("DELETE", "/channels/{channelId}")
def _hangup(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    channels.hangup(ast, m["channelId"], p)
    return NO_CONTENT


@route("POST", "/channels/{channelId}/answer")
def _answer(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    channels.answer(ast, m["channelId"])
    return NO_CONTENT


@route("POST", "/channels/{channelId}/continue")
def _continue(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    channels.continue_in_dialplan(ast, m["channelId"], p)
    return NO_CONTENT


@route("POST", "/channels/{channelId}/redirect")
def _redirect(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    channels.redirect(ast, m["channelId"], p)
    return NO_CONTENT


@route("POST", "/channels/{channelId}/move")
def _move(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    channels.move(ast, m["channelId"], p)
    return NO_CONTENT


@route("POST", "/channels/{channelId}/dtmf")
def _dtmf(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    channels.dtmf(ast, m["channelId"], p)
    return NO_CONTENT


def _simple(action: str, direction: bool = False) -> None:
    def handler(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
        channels.simple_action(ast, m["channelId"], p, direction)
        return NO_CONTENT

    for method in ("POST", "DELETE"):
        route(method, f"/channels/{{channelId}}/{action}")(handler)


for _action in ("ring", "hold", "moh", "silence"):
    _simple(_action)


@route("POST", "/channels/{channelId}/mute")
def _mute(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    channels.mute(ast, m["channelId"], p, on=True)
    return NO_CONTENT


@route("DELETE", "/channels/{channelId}/mute")
def _unmute(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    channels.mute(ast, m["channelId"], p, on=False)
    return NO_CONTENT


@route("GET", "/channels/{channelId}/variable")
def _var_get(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, channels.get_variable(ast, m["channelId"], p)


@route("POST", "/channels/{channelId}/variable")
def _var_set(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    channels.set_variable(ast, m["channelId"], p)
    return NO_CONTENT


@route("POST", "/channels/{channelId}/snoop")
@route("POST", "/channels/{channelId}/snoop/{snoopId}")
def _snoop(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, channels.snoop(ast, m["channelId"], p, m.get("snoopId"))


@route("POST", "/channels/{channelId}/play")
@route("POST", "/channels/{channelId}/play/{playbackId}")
def _channel_play(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    channel = ast.stasis_channel(m["channelId"])
    wanted = m.get("playbackId") or p.get("playbackId")
    playback = ast.media.play(
        f"channel:{channel.id}", channel.app, p.get("media"), wanted, p.get("lang")
    )
    return 201, playback.json()


@route("POST", "/channels/{channelId}/record")
def _channel_record(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    channel = ast.stasis_channel(m["channelId"])
    recording = _record(ast, f"channel:{channel.id}", channel.app, p)
    channel.recording = recording.name
    return 201, recording.json()


def _record(ast: SimAsterisk, target: str, app: str, p: dict[str, Any]) -> Any:
    max_duration = float(p.get("maxDurationSeconds") or 0)
    return ast.media.record(
        target, app, p.get("name"), p.get("format"), p.get("ifExists"), max_duration
    )


# bridges -----------------------------------------------------------------------------


@route("GET", "/bridges")
def _bridges_list(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, [b.json() for b in ast.bridges.values()]


@route("POST", "/bridges")
@route("POST", "/bridges/{bridgeId}")
def _bridge_create(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, bridges.create(ast, p, m.get("bridgeId")).json()


@route("GET", "/bridges/{bridgeId}")
def _bridge_get(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, ast.bridge(m["bridgeId"]).json()


@route("DELETE", "/bridges/{bridgeId}")
def _bridge_destroy(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    bridges.destroy(ast, m["bridgeId"])
    return NO_CONTENT


@route("POST", "/bridges/{bridgeId}/addChannel")
def _bridge_add(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    bridges.add_channels(ast, m["bridgeId"], p)
    return NO_CONTENT


@route("POST", "/bridges/{bridgeId}/removeChannel")
def _bridge_remove(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    bridges.remove_channel(ast, m["bridgeId"], p)
    return NO_CONTENT


@route("POST", "/bridges/{bridgeId}/moh")
def _bridge_moh_start(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    bridges.moh(ast, m["bridgeId"], start=True)
    return NO_CONTENT


@route("DELETE", "/bridges/{bridgeId}/moh")
def _bridge_moh_stop(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    bridges.moh(ast, m["bridgeId"], start=False)
    return NO_CONTENT


@route("POST", "/bridges/{bridgeId}/play")
@route("POST", "/bridges/{bridgeId}/play/{playbackId}")
def _bridge_play(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    bridge = ast.bridge(m["bridgeId"])
    wanted = m.get("playbackId") or p.get("playbackId")
    playback = ast.media.play(f"bridge:{bridge.id}", bridge.app, p.get("media"), wanted)
    return 201, playback.json()


@route("POST", "/bridges/{bridgeId}/record")
def _bridge_record(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    bridge = ast.bridge(m["bridgeId"])
    return 201, _record(ast, f"bridge:{bridge.id}", bridge.app, p).json()


# playbacks and recordings ------------------------------------------------------------


@route("GET", "/playbacks/{playbackId}")
def _playback_get(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, ast.media.get(m["playbackId"]).json()


@route("DELETE", "/playbacks/{playbackId}")
def _playback_stop(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    playback = ast.media.get(m["playbackId"])
    ast.media.stop(playback.id, _app(ast, playback.target_uri.partition(":")[2]))
    return NO_CONTENT


@route("POST", "/playbacks/{playbackId}/control")
def _playback_control(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    ast.media.control(m["playbackId"], p.get("operation"))
    return NO_CONTENT


@route("GET", "/recordings/live/{name}")
def _live_get(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, ast.media.live_recording(m["name"]).json()


@route("POST", "/recordings/live/{name}/stop")
def _live_stop(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    recording = ast.media.live_recording(m["name"])
    ast.media.stop_recording(recording.name, _app(ast, recording.target_uri.partition(":")[2]))
    return NO_CONTENT


@route("GET", "/recordings/stored")
def _stored_list(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, [ast.media.stored_recording(name) for name in ast.media.stored]


@route("GET", "/recordings/stored/{name}")
def _stored_get(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, ast.media.stored_recording(m["name"])


@route("DELETE", "/recordings/stored/{name}")
def _stored_delete(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    ast.media.stored_recording(m["name"])
    del ast.media.stored[m["name"]]
    return NO_CONTENT


# endpoints, applications, asterisk -----------------------------------------------------


def _endpoint(ast: SimAsterisk, endpoint: str, state: str) -> dict[str, Any]:
    tech, _, resource = endpoint.partition("/")
    ids = [c.id for c in ast.channels.values() if c.name.startswith(endpoint + "-")]
    return {"technology": tech, "resource": resource, "state": state, "channel_ids": ids}


@route("GET", "/endpoints")
def _endpoints(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, [_endpoint(ast, e, ast.endpoints.state(e) or "") for e in ast.endpoints.policies]


@route("GET", "/endpoints/{tech}")
def _endpoints_by_tech(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    if m["tech"] not in {"PJSIP", "Local", "SIP", "IAX2"}:
        raise AriError(404, f"No Endpoints found - invalid tech {m['tech']}")
    found = [e for e in ast.endpoints.policies if e.startswith(m["tech"] + "/")]
    return 200, [_endpoint(ast, e, ast.endpoints.state(e) or "") for e in found]


@route("GET", "/endpoints/{tech}/{resource}")
def _endpoint_get(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    endpoint = f"{m['tech']}/{m['resource']}"
    state = ast.endpoints.state(endpoint)
    if state is None:
        raise AriError(404, "Endpoint not found")
    return 200, _endpoint(ast, endpoint, state)


def _application(ast: SimAsterisk, name: str) -> dict[str, Any]:
    channel_ids, bridge_ids = ast.subscribed_ids(name)
    allowed, disallowed = ast.bus.filter_of(name)
    return {
        "name": name, "channel_ids": channel_ids, "bridge_ids": bridge_ids,
        "endpoint_ids": endpoints.endpoint_ids(ast, name), "device_names": [],
        "events_allowed": [{"type": t} for t in allowed],
        "events_disallowed": [{"type": t} for t in disallowed],
    }  # fmt: skip


@route("GET", "/applications")
def _applications(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, [_application(ast, app) for app in ast.bus.apps()]


@route("GET", "/applications/{name}")
def _application_get(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    if not ast.bus.connected(m["name"]):
        raise AriError(404, "Application not found")
    return 200, _application(ast, m["name"])


@route("POST", "/applications/{name}/subscription")
def _subscribe(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    endpoints.subscribe(ast, m["name"], p.get("eventSource"))
    return 200, _application(ast, m["name"])


@route("PUT", "/applications/{name}/eventFilter")
def _event_filter(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    # The body is the filter (its keys arrive as parameters, server.py).
    if not ast.bus.connected(m["name"]):
        raise AriError(404, "Application not found")
    spec: dict[str, Any] = {key: p[key] for key in ("allowed", "disallowed") if key in p}
    if not ast.bus.set_filter(m["name"], spec):
        raise AriError(400, "Invalid format definition")
    return 200, _application(ast, m["name"])


@route("DELETE", "/applications/{name}/subscription")
def _unsubscribe(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    endpoints.unsubscribe(ast, m["name"], p.get("eventSource"))
    return 200, _application(ast, m["name"])


@route("GET", "/asterisk/ping")
def _ping(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, {"ping": "pong", "timestamp": ast.now_text(), "asterisk_id": "02:fc:00:00:00:01"}


@route("GET", "/asterisk/info")
def _info(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    return 200, {"system": {"version": "22.10.1", "entity_id": "02:fc:00:00:00:01"}}


@route("GET", "/asterisk/variable")
def _global_get(ast: SimAsterisk, m: dict[str, str], p: dict[str, Any]) -> Reply:
    if not p.get("variable"):
        raise AriError(400, "Variable name is required")
    return 200, {"value": ast.globals.get(p["variable"], "")}
