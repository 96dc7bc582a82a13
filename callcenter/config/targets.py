"""Targets as admins write them (``queue:sales``), parsed into the core's `Target`.

One string form serves IVR options, number entry points, overflow, exit keys and closed
hours, so an admin learns it once. The value's shape is checked here; whether the queue,
menu, agent or announcement it names exists is checked with the whole configuration
(`callcenter.config.references`).
"""

from __future__ import annotations

import re

from callcenter.core.spec import Target, TargetKind

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# What each kind's value looks like, and how to say so.
_SHAPES: dict[TargetKind, tuple[re.Pattern[str], str]] = {
    TargetKind.QUEUE: (NAME, "queue:NAME, e.g. queue:sales"),
    TargetKind.IVR: (NAME, "ivr:MENU, e.g. ivr:hotline-main"),
    TargetKind.AGENT: (re.compile(r"\w+", re.ASCII), "agent:ID, e.g. agent:1001"),
    TargetKind.NUMBER: (re.compile(r"\+?[0-9]{2,20}"), "number:DIGITS, e.g. number:13800138000"),
    TargetKind.VOICEMAIL: (
        re.compile(r"[A-Za-z0-9_-]+(@[A-Za-z0-9_-]+)?"),
        "voicemail:MAILBOX[@CONTEXT], e.g. voicemail:hotline@callcenter",
    ),
    TargetKind.DIALPLAN: (
        # Asterisk's Goto(context,exten,priority); the priority may be a number or a label.
        re.compile(r"[A-Za-z0-9_-]+,[A-Za-z0-9_*#+-]+,([0-9]+|[A-Za-z][A-Za-z0-9_-]*)"),
        "dialplan:CONTEXT,EXTEN,PRIORITY, e.g. dialplan:selfservice,authenticity,1",
    ),
    TargetKind.ANNOUNCEMENT: (NAME, "announcement:NAME, e.g. announcement:hotline-closed"),
}
KINDS = ", ".join(kind.value for kind in TargetKind)
TARGET_RULE = f"must be KIND:VALUE with KIND one of {KINDS}, e.g. queue:sales"
# Target kinds whose value names something defined in the configuration, by section.
REFERENCED_SECTION = {
    TargetKind.QUEUE: "queues",
    TargetKind.IVR: "ivr",
    TargetKind.AGENT: "agents",
    TargetKind.ANNOUNCEMENT: "announcements",
}


class TargetError(ValueError):
    """The text is not a target; the message says what is allowed."""


def parse_target(text: str) -> Target:
    """``"queue:sales"`` -> ``Target(TargetKind.QUEUE, "sales")``; ``"hangup"`` has no value."""
    kind_text, colon, value = text.strip().partition(":")
    try:
        kind = TargetKind(kind_text.strip().lower())
    except ValueError:
        raise TargetError(TARGET_RULE) from None
    if kind is TargetKind.HANGUP:
        if value:
            raise TargetError("must be just hangup, with nothing after it")
        return Target(kind)
    pattern, shape = _SHAPES[kind]
    if not colon or not pattern.fullmatch(value.strip()):
        raise TargetError(f"must be {shape}")
    return Target(kind, value.strip())
