"""Targets as admins write them, parsed into the core's Target."""

from __future__ import annotations

import pytest

from callcenter.config import TargetError, parse_target
from callcenter.core.spec import Target, TargetKind


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("queue:sales", Target(TargetKind.QUEUE, "sales")),
        ("ivr:hotline-main", Target(TargetKind.IVR, "hotline-main")),
        ("agent:1001", Target(TargetKind.AGENT, "1001")),
        ("number:+8613800138000", Target(TargetKind.NUMBER, "+8613800138000")),
        ("voicemail:hotline@callcenter", Target(TargetKind.VOICEMAIL, "hotline@callcenter")),
        ("dialplan:selfservice,auth,1", Target(TargetKind.DIALPLAN, "selfservice,auth,1")),
        ("dialplan:ctx,s,start", Target(TargetKind.DIALPLAN, "ctx,s,start")),
        ("announcement:outage", Target(TargetKind.ANNOUNCEMENT, "outage")),
        ("hangup", Target(TargetKind.HANGUP)),
        (" queue: sales ", Target(TargetKind.QUEUE, "sales")),
    ],
)
def test_targets_parse(text: str, target: Target) -> None:
    assert parse_target(text) == target
    assert parse_target(str(target)) == target


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("sales", "must be KIND:VALUE with KIND one of queue, ivr, agent"),
        ("queues:sales", "must be KIND:VALUE"),
        ("queue:", "must be queue:NAME, e.g. queue:sales"),
        ("queue:two words", "must be queue:NAME"),
        ("dialplan:ctx,s", "must be dialplan:CONTEXT,EXTEN,PRIORITY"),
        ("number:call-me", "must be number:DIGITS"),
        ("hangup:now", "must be just hangup"),
    ],
)
def test_bad_targets_say_what_is_allowed(text: str, rule: str) -> None:
    with pytest.raises(TargetError, match=rule):
        parse_target(text)
