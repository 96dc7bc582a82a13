"""Who picks up when the engine rings an endpoint: a pluggable policy per endpoint.

The outcomes are the ones recorded on Asterisk 22: answer after a delay
(queue_moh_ring_answer), never answer until the originate timeout (agent_no_answer),
busy (agent_busy), and not registered (agent_unreachable: a synchronous 500).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    after: float = 0.0
    """Seconds of ringing before the agent answers."""


@dataclass(frozen=True)
class NoAnswer:
    """Rings until the originate `timeout`, then cause 19 on both halves."""


@dataclass(frozen=True)
class Busy:
    """`Dial BUSY` at once; the far half ends with cause 17."""


@dataclass(frozen=True)
class Unregistered:
    """The endpoint is offline: originate fails with 500 `Allocation failed`."""


Policy = Answer | NoAnswer | Busy | Unregistered


@dataclass
class Endpoints:
    """Endpoints by `Tech/resource` (e.g. `PJSIP/1001`, `Local/1001@agents`).

    PJSIP endpoints exist only when registered here (an unknown one is an allocation
    failure, errors.md); any Local endpoint exists and uses `default`.
    """

    policies: dict[str, Policy] = field(default_factory=dict)
    default: Policy = field(default_factory=Answer)
    on_change: Callable[[str, str], None] | None = field(default=None, repr=False, compare=False)
    """Told `(endpoint, state)` when a `set` registers or unregisters a phone (the
    simulated Asterisk emits EndpointStateChange from it)."""

    def set(self, endpoint: str, policy: Policy) -> None:
        before = self.state(endpoint)
        self.policies[endpoint] = policy
        after = self.state(endpoint)
        if after is not None and after != before and self.on_change is not None:
            self.on_change(endpoint, after)

    def policy(self, endpoint: str) -> Policy | None:
        """The policy for `endpoint`; None if Asterisk could not allocate a channel."""
        if endpoint in self.policies:
            return self.policies[endpoint]
        tech = endpoint.split("/", 1)[0]
        return self.default if tech == "Local" else None

    def state(self, endpoint: str) -> str | None:
        """ARI endpoint state for a registered endpoint, else None (404)."""
        if endpoint not in self.policies:
            return None
        return "offline" if isinstance(self.policies[endpoint], Unregistered) else "online"
