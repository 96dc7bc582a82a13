"""`POST /channels`: ringing an endpoint, answered or not according to its policy.

Event sequences (both Local halves are reported, the `;2` half runs the agent's
dialplan, the `;1` half is the one that enters Stasis):
- answer: queue_moh_ring_answer.md; PJSIP: early_sip_agent_originate.jsonl;
- no answer: agent_no_answer.md (cause 19 on both halves, no `Dial NOANSWER`);
- busy: agent_busy.md (`;1` destroyed with cause 0, `;2` with 17);
- unregistered: agent_unreachable.md (synchronous 500, no event).
"""

from __future__ import annotations

from typing import Any

from sim.agents import Answer, Busy, NoAnswer, Policy, Unregistered
from sim.asterisk import SOFT_APPUNLOAD, SimAsterisk
from sim.errors import AriError, allocation_failed
from sim.model import CallerId, Channel, Dialplan

DEFAULT_TIMEOUT = 30.0


def _timeout(raw: Any) -> float:
    try:
        return float(raw) if raw not in (None, "") else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT  # errors.md: `timeout=abc` is accepted


def originate(ast: SimAsterisk, p: dict[str, Any]) -> Channel:
    endpoint = p.get("endpoint")
    if not endpoint:
        raise AriError(400, "Endpoint must be specified")
    app = p.get("app")
    if not app and not p.get("extension"):
        raise AriError(400, "Application or extension must be specified")
    if "/" not in endpoint:
        raise AriError(400, "Invalid endpoint specified")
    policy = ast.endpoints.policy(endpoint)
    if policy is None or isinstance(policy, Unregistered):
        raise allocation_failed()
    channel_id, other_id = p.get("channelId"), p.get("otherChannelId")
    for wanted in (channel_id, other_id):
        if wanted:
            ast.check_new_id(wanted)
    if channel_id and channel_id == other_id:
        raise AriError(409, "Channel with given unique ID already exists")
    if not app:
        raise AriError(501, "Dialplan originate is not simulated")
    tech, _, resource = endpoint.partition("/")
    caller = CallerId.parse(p.get("callerId"))
    args = [a for a in str(p.get("appArgs") or "").split(",") if a]
    now = ast.now_text()
    variables = p.get("variables") or {}
    if tech == "Local":
        exten, _, context = resource.partition("@")
        base = f"{endpoint}-{ast.name_suffix('Local')}"
        near = Channel(
            channel_id or ast.new_id(), base + ";1", "Down", now,
            Dialplan(context, exten, 1, "AppDial2", "(Outgoing Line)"),
        )  # fmt: skip
        # Without otherChannelId the far half is `<channelId>;2` (snoop_whisper_barge).
        far_id = other_id or (f"{channel_id};2" if channel_id else ast.new_id())
        far = Channel(far_id, base + ";2", "Ring", now, Dialplan(context, exten, 1))
        near.peer, far.peer = far, near
    else:
        near = Channel(
            channel_id or ast.new_id(), f"{endpoint}-{ast.name_suffix(tech)}", "Down", now,
            Dialplan("default", "s", 1, "AppDial2", "(Outgoing Line)"),
        )  # fmt: skip
        far = None
    for half in (near, far):
        if half is not None:
            half.caller, half.connected = caller, CallerId(caller.name, caller.number)
            half.app, half.subscribed, half.originated = app, True, True
            half.variables.update({str(k): str(v) for k, v in dict(variables).items()})
            ast.add(half)
    # The 200 goes out first; the dial events follow within a millisecond (agent_busy).
    ast.clock.call_later(0, lambda: _ring(ast, near, policy, _timeout(p.get("timeout")), args))
    return near


def _dial(ast: SimAsterisk, near: Channel, status: str) -> None:
    dialstring = near.name.split("/", 1)[1].rsplit("-", 1)[0]
    ast.bus.emit(
        near.app, "Dial", dialstatus=status, forward="", dialstring=dialstring, peer=near.json()
    )


def _ring(ast: SimAsterisk, near: Channel, policy: Policy, timeout: float, args: list[str]) -> None:
    if near.id not in ast.channels:
        return
    far = near.peer
    if far is not None:
        ast.emit(far, "ChannelCallerId", caller_presentation=0,
                 caller_presentation_txt="Presentation Allowed, Not Screened")  # fmt: skip
        ast.emit(far, "ChannelConnectedLine")
    if isinstance(policy, Answer) and policy.after <= 0:
        # Answer() without Ringing(): `;2` is Up before the first Dial (snoop_whisper_barge).
        if far is not None:
            ast.set_state(far, "Up")
            far = None
        _dial(ast, near, "")
        _answer(ast, near, args, far_up=False)
        return
    _dial(ast, near, "")
    if isinstance(policy, Busy):
        _busy(ast, near)
        return
    ast.set_state(near, "Ringing")
    _dial(ast, near, "RINGING")
    if isinstance(policy, Answer) and policy.after < timeout:
        near.timer = ast.clock.call_later(policy.after, lambda: _answer(ast, near, args))
    elif isinstance(policy, Answer | NoAnswer):
        near.timer = ast.clock.call_later(timeout, lambda: _no_answer(ast, near))


def _answer(ast: SimAsterisk, near: Channel, args: list[str], *, far_up: bool = True) -> None:
    near.timer = None
    if near.peer is not None and far_up:
        ast.set_state(near.peer, "Up")
    ast.set_state(near, "Up")
    _dial(ast, near, "ANSWER")
    ast.set_variable(near, "STASISSTATUS", "")
    ast.start_stasis(near, near.app, args)


def _no_answer(ast: SimAsterisk, near: Channel) -> None:
    near.timer = None
    far = near.peer
    if far is None:
        ast.hangup(near, {"cause": 19}, cause=19)
        return
    ast.emit(far, "ChannelHangupRequest", cause=19)
    ast.destroy(near, 19)
    ast.emit(far, "ChannelHangupRequest", cause=SOFT_APPUNLOAD, soft=True)
    ast.destroy(far, 19)


def _busy(ast: SimAsterisk, near: Channel) -> None:
    far = near.peer
    if far is None:
        ast.set_state(near, "Busy")
        _dial(ast, near, "BUSY")
        ast.hangup(near, {"cause": 17}, cause=17)
        return
    ast.set_state(far, "Busy")
    _dial(ast, near, "BUSY")
    ast.emit(far, "ChannelHangupRequest", cause=0)
    ast.destroy(near, 0)
    ast.emit(far, "ChannelHangupRequest", cause=SOFT_APPUNLOAD, soft=True)
    ast.destroy(far, 17)
