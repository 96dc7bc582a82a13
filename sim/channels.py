"""REST operations on existing channels, with the errors recorded in errors.jsonl."""

from __future__ import annotations

import re
from typing import Any

from sim.asterisk import SOFT_EXPLICIT, SimAsterisk
from sim.errors import AriError
from sim.model import CallerId, Channel, Dialplan, Json

REASONS = {
    "normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "timeout": 19,
    "rejected": 21, "unallocated": 1, "normal_unspecified": 31, "number_incomplete": 28,
    "codec_mismatch": 58, "interworking": 127, "failure": 38, "answered_elsewhere": 26,
}  # fmt: skip
DIRECTIONS = {"in", "out", "both"}
_FUNCTION = re.compile(r"^([A-Z_]+)\((.*)\)$")


def hangup(ast: SimAsterisk, channel_id: str, p: dict[str, Any]) -> None:
    channel = ast.channel(channel_id)
    reason, code = p.get("reason"), p.get("reason_code")
    cause = 16
    if reason:
        if reason not in REASONS:
            raise AriError(400, "Invalid reason for hangup reason provided")
        cause = REASONS[reason]
    if code:
        if not str(code).isdigit():
            raise AriError(400, "Invalid reason for hangup reason code provided")
        cause = int(code)
    ast.hangup(channel, {"cause": SOFT_EXPLICIT, "soft": True}, cause=cause)


def answer(ast: SimAsterisk, channel_id: str) -> None:
    channel = ast.stasis_channel(channel_id)
    if channel.state != "Up":
        # The state change arrives just before the 204 (hold_mute_variables_continue).
        ast.set_state(channel, "Up")


def continue_in_dialplan(ast: SimAsterisk, channel_id: str, p: dict[str, Any]) -> None:
    channel = ast.stasis_channel(channel_id)
    dp = channel.dialplan
    channel.dialplan = Dialplan(
        p.get("context") or dp.context, p.get("extension") or dp.exten, int(p.get("priority") or 1)
    )
    # Only StasisEnd follows; the simulator runs no dialplan, so the call then ends
    # (hold_mute_variables_continue: GET afterwards -> 404).
    ast.end_stasis(channel)
    ast.clock.call_later(0, lambda: ast.hangup(channel, {"cause": 16}, cause=16))


def redirect(ast: SimAsterisk, channel_id: str, p: dict[str, Any]) -> None:
    """transfer_redirect.md: 204 and no event either way. On a Local channel nothing
    happens at all (Asterisk logs `Unsupported transfer requested`); on PJSIP the phone
    gets a REFER and places the new call itself, outside Stasis: the channel stays in
    the app until it is hung up. The simulator runs no SIP, so both are a no-op."""
    channel = ast.stasis_channel(channel_id)
    endpoint = p.get("endpoint")
    if not endpoint:
        raise AriError(400, "Required parameter 'endpoint' not provided.")
    tech, sep, resource = str(endpoint).partition("/")
    if not sep or not resource:
        raise AriError(422, f"Endpoint parameter '{endpoint}' does not contain tech/resource")
    if tech.lower() != channel.tech.lower():
        raise AriError(
            422, f"Endpoint technology '{tech}' does not match channel technology '{channel.tech}'"
        )


def move(ast: SimAsterisk, channel_id: str, p: dict[str, Any]) -> None:
    """To an app without a websocket: 204, then `ApplicationMoveFailed` and the channel
    stays where it was (transfer_redirect.md). To a connected app: StasisEnd in the old
    one, StasisStart in the new one (ari-api-docs/channels.json `move`)."""
    channel = ast.stasis_channel(channel_id)
    app = p.get("app")
    if not app:  # worded like redirect's (move's own wording is not recorded)
        raise AriError(400, "Required parameter 'app' not provided.")
    args = [a for a in str(p.get("appArgs") or "").split(",") if a]
    if not ast.bus.connected(app):
        # The event came just after the 204 in the trace.
        ast.clock.call_later(
            0, lambda: ast.emit(channel, "ApplicationMoveFailed", destination=app, args=args)
        )
        return
    ast.end_stasis(channel)
    ast.start_stasis(channel, app, args)


def dtmf(ast: SimAsterisk, channel_id: str, p: dict[str, Any]) -> None:
    ast.channel(channel_id)
    if not p.get("dtmf"):
        raise AriError(400, "DTMF is required")
    # Digits go to the far end: nothing comes back on this channel (ivr_playback_dtmf).
    ast.stasis_channel(channel_id).dtmf_sent.append(str(p["dtmf"]))


def simple_action(ast: SimAsterisk, channel_id: str, p: dict[str, Any], direction: bool) -> None:
    """ring, hold, moh, silence, mute: 204 and no event (hold_mute_variables_continue)."""
    ast.stasis_channel(channel_id)
    if direction and p.get("direction", "both") not in DIRECTIONS:
        raise AriError(400, "Invalid direction specified")


def mute(ast: SimAsterisk, channel_id: str, p: dict[str, Any], *, on: bool) -> None:
    """204 and no event (hold_mute_variables_continue); `both` is the default."""
    channel = ast.stasis_channel(channel_id)
    direction = p.get("direction", "both")
    if direction not in DIRECTIONS:
        raise AriError(400, "Invalid direction specified")
    directions = {"in", "out"} if direction == "both" else {direction}
    if on:
        channel.muted |= directions
    else:
        channel.muted -= directions


def get_variable(ast: SimAsterisk, channel_id: str, p: dict[str, Any]) -> Json:
    channel = ast.channel(channel_id, "Provided channel was not found")
    name = p.get("variable")
    if not name:
        raise AriError(400, "Variable name is required")
    function = _FUNCTION.match(name)
    if function:
        return {"value": _read_function(channel, function[1], function[2])}
    key = str(name).lstrip("_")
    if key not in channel.variables:
        raise AriError(404, "Provided variable was not found")
    return {"value": channel.variables[key]}


def _read_function(channel: Channel, func: str, arg: str) -> str:
    values = {
        ("CALLERID", "name"): channel.caller.name,
        ("CALLERID", "num"): channel.caller.number,
        ("CALLERID", "number"): channel.caller.number,
        ("CALLERID", "all"): f'"{channel.caller.name}" <{channel.caller.number}>',
        ("CHANNEL", "state"): channel.state,
        ("CHANNEL", "uniqueid"): channel.id,
        ("CHANNEL", "name"): channel.name,
    }
    if (func, arg) not in values:
        raise AriError(500, "Unable to read provided function")
    return values[(func, arg)]


def set_variable(ast: SimAsterisk, channel_id: str, p: dict[str, Any]) -> None:
    channel = ast.stasis_channel(channel_id)
    name = p.get("variable")
    if not name or not isinstance(name, str):
        raise AriError(400, "Variable name is required")
    value = p.get("value")
    if value is None:
        return  # 204 and no event (hold_mute_variables_continue.md)
    if name in {"CALLERID(name)", "CALLERID(num)", "CALLERID(number)"}:
        old = channel.caller
        is_name = name.endswith("(name)")
        channel.caller = CallerId(
            str(value) if is_name else old.name, old.number if is_name else str(value)
        )
        ast.emit(channel, "ChannelCallerId", caller_presentation=0,
                 caller_presentation_txt="Presentation Allowed, Not Screened")  # fmt: skip
        return
    ast.set_variable(channel, name, str(value))


def snoop(ast: SimAsterisk, channel_id: str, p: dict[str, Any], snoop_id: str | None) -> Json:
    """The snoop channel as the 200 shows it: from before it entered Stasis."""
    spied = ast.channel(channel_id, "Provided channel was not found")
    spy, whisper = p.get("spy", "none"), p.get("whisper", "none")
    for label, value in (("spy", spy), ("whisper", whisper)):
        if value not in DIRECTIONS | {"none"}:
            raise AriError(400, f"Invalid direction specified for {label}")
    if spy == "none" and whisper == "none":
        raise AriError(400, "Direction must be specified for at least spy or whisper")
    app = p.get("app")
    if not app:
        raise AriError(400, "Application name is required")
    wanted = snoop_id or p.get("snoopId")
    if wanted:
        ast.check_new_id(wanted)
    # Named after the spied channel's id; enters the app at once (snoop_whisper_barge).
    channel = Channel(
        wanted or ast.new_id(), f"Snoop/{spied.id}-{ast.name_suffix('Snoop')}", "Up",
        ast.now_text(), Dialplan("default", "s", 1),
    )  # fmt: skip
    spied.snoops.append(channel.id)
    channel.snooping = (spied.id, str(spy), str(whisper))
    ast.add(channel)
    reply = channel.json()
    args = [a for a in str(p.get("appArgs") or "").split(",") if a]
    ast.start_stasis(channel, app, args)
    return reply
