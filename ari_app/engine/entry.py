"""How a caller enters a queue: which queue, with which priority and attributes.

The dialplan's AGI lookups leave what they found in CC_* channel variables before
``Stasis(callcenter,inbound,${EXTEN})`` (asterisk-conf/extensions.conf); the engine
reads them on StasisStart. Pure functions: the executor does the reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from callcenter.config import Config
from callcenter.core.expression import Value
from callcenter.core.spec import TargetKind

VARIABLES = ("CC_QUEUE", "CC_PRIORITY", "CC_VIP", "CC_LANG")
"""The channel variables read on arrival (a missing one is a 404, skipped)."""
VIP_PRIORITY = 10
"""A VIP's priority when the dialplan gave none (agi_scripts/enqueue.py's default)."""
MAX_PRIORITY = 1000


@dataclass(frozen=True, slots=True)
class Entry:
    queue: str
    priority: int = 0
    attributes: Mapping[str, Value] = field(default_factory=dict)


def _flag(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true", "yes")


def _priority(text: str | None) -> int | None:
    try:
        return max(0, min(MAX_PRIORITY, int(text or "")))
    except ValueError:
        return None


def queue_for_number(config: Config, exten: str) -> str | None:
    """The queue the dialed number leads to, if it leads to one."""
    number = config.numbers.get(exten)
    if number is None:
        return None
    target = number.target
    if target.kind is TargetKind.QUEUE:
        return target.value
    if target.kind is TargetKind.IVR:
        # TODO(issue 3): run the IVR menu (prompts, DTMF, retries, language); until then the
        # caller joins the first queue the menu's options name, in key order.
        menu = config.ivr.get(target.value)
        for _key, option in sorted(menu.options.items()) if menu else ():
            if option.kind is TargetKind.QUEUE:
                return option.value
    return None


def entry_for(config: Config, exten: str, variables: Mapping[str, str]) -> Entry | None:
    """CC_QUEUE if set, else the dialed number's queue; None when neither names one."""
    queue = variables.get("CC_QUEUE") or queue_for_number(config, exten)
    if not queue:
        return None
    vip = _flag(variables.get("CC_VIP"))
    priority = _priority(variables.get("CC_PRIORITY"))
    if priority is None:
        priority = VIP_PRIORITY if vip else 0
    attributes: dict[str, Value] = {"vip": vip}
    if variables.get("CC_LANG"):
        attributes["lang"] = variables["CC_LANG"]
    return Entry(queue, priority, attributes)
