"""Reachability: an agent whose phone is not registered is not offered calls.

Asterisk reports a PJSIP endpoint `online` while a contact is registered and `offline`
when none is; ringing an offline endpoint fails at once with 500 `Allocation failed`
(agent_unreachable.md). The engine learns it from `EndpointStateChange` events, which
Asterisk sends only to apps subscribed to the endpoint (ari-api-docs/events.json): on
every (re)connect `resync` subscribes the app to each agent's endpoint (one request,
`eventSource` listing them all) and reads `GET /endpoints`, because events missed while
disconnected are not replayed (reconnect.md).

The core is told with `AgentReachabilityChanged` whenever what it should believe
changes. An agent is reachable unless the endpoint is `offline` or the agent is
`engaged` on a call the core does not route (a transfer rang them directly). An
`unknown` state, or an endpoint Asterisk does not list at all, counts as reachable:
the originate itself then fails at once (500, agent_unreachable.md) and the core
handles that as a failed ring. Local endpoints have no state and are always reachable.

Several Asterisk servers: each reports its own endpoint states (resync and events per
server), and an agent is reachable when the endpoint is `online` on any server (or, as
with one server, `offline` on none). Not "on the call's server": the core offers an
agent calls from one set of queues whatever server they arrived on, and a ring on a
server where the phone is not registered fails at once (500) and passes to the next
agent, while requiring every server would shut out an agent whose phone registers
with only some of them. A server that is down keeps its last states until its resync.
The agent's leg is originated on the caller's server, so the deployment must make
agents' endpoints dialable from every server (README).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from ari_app.client import AriError
from ari_app.client import events as ari
from ari_app.client.models import Application, Endpoint
from callcenter.core import events as ev

log = logging.getLogger(__name__)

STATELESS_TECHS = frozenset({"local"})


class HasEndpoint(Protocol):
    @property
    def endpoint(self) -> str: ...


class EndpointsApi(Protocol):
    async def list(self, tech: str | None = None) -> list[Endpoint]: ...


class ApplicationsApi(Protocol):
    async def subscribe(self, name: str, event_sources: str | Sequence[str]) -> Application: ...


def endpoint_key(endpoint: str) -> str:
    """`PJSIP/1001` as compared: the technology is case-insensitive, the resource is not."""
    tech, _, resource = endpoint.partition("/")
    return f"{tech.lower()}/{resource}"


class Reachability:
    def __init__(
        self,
        endpoints: EndpointsApi,
        applications: ApplicationsApi,
        agents: Callable[[], Mapping[str, HasEndpoint]],
        post: Callable[[ev.Event], None],
        *,
        app: str = "callcenter",
        now: Callable[[], float] = time.time,
    ) -> None:
        self._endpoints = endpoints
        self._applications = applications
        self._agents = agents
        self._post = post
        self._app = app
        self._now = now
        # server -> endpoint key -> online/offline/unknown
        self._states: dict[str, dict[str, str]] = {}
        self._engaged: set[str] = set()
        self._told: dict[str, bool] = {}  # what the core was last told, by agent (default True)
        self._index: tuple[Mapping[str, HasEndpoint], dict[str, list[str]]] | None = None

    # -- what the engine asks ----------------------------------------------------------------

    def reachable(self, agent: str) -> bool:
        return self._told.get(agent, True)

    def engage(self, agent: str) -> None:
        """The agent talks on a call the core does not route: offer them nothing meanwhile."""
        self._engaged.add(agent)
        self._tell(agent)

    def release(self, agent: str) -> None:
        self._engaged.discard(agent)
        self._tell(agent)

    # -- Asterisk's side ---------------------------------------------------------------------

    async def resync(self, server: str = "") -> None:
        """Subscribe to the agents' endpoints and read their states (each (re)connect of
        `server`, in its scope: the requests go there)."""
        watched = self._watched()
        if not watched:
            return
        await self._subscribe(sorted(watched))
        try:
            listed = await self._endpoints.list()
        except AriError as exc:
            log.warning("endpoint states unread error=%s: agents stay as they were", exc)
            return
        states = {endpoint_key(f"{e.technology}/{e.resource}"): e.state for e in listed}
        known = self._states.setdefault(server, {})
        for key in watched:
            if key not in states:
                # Ringing it will fail with 500 `Allocation failed` (errors.md), which the
                # core counts against the agent; nothing to watch meanwhile.
                log.warning("endpoint unknown to asterisk server=%s endpoint=%s", server, key)
            known[key] = states.get(key, "unknown")
        for agent in self._agents():
            self._tell(agent)

    def on_event(self, event: ari.AriEvent) -> bool:
        """Takes `EndpointStateChange`; leaves every other event to the others."""
        if not isinstance(event, ari.EndpointStateChange):
            return False
        endpoint = event.endpoint
        key = endpoint_key(f"{endpoint.technology}/{endpoint.resource}")
        self._states.setdefault(event.server, {})[key] = endpoint.state or "unknown"
        log.info("endpoint state server=%s endpoint=%s state=%s",
                 event.server, key, endpoint.state)  # fmt: skip
        for agent in self._agents_of(key):
            self._tell(agent)
        return True

    # -- internals ---------------------------------------------------------------------------

    def _agents_of(self, key: str) -> list[str]:
        """Agents by endpoint, rebuilt when a reload brings a new agents mapping."""
        agents = self._agents()
        if self._index is None or self._index[0] is not agents:
            by_endpoint: dict[str, list[str]] = {}
            for agent, spec in agents.items():
                by_endpoint.setdefault(endpoint_key(spec.endpoint), []).append(agent)
            self._index = (agents, by_endpoint)
        return self._index[1].get(key, [])

    def _watched(self) -> set[str]:
        keys = {endpoint_key(spec.endpoint) for spec in self._agents().values()}
        return {k for k in keys if k.partition("/")[0] not in STATELESS_TECHS}

    async def _subscribe(self, keys: list[str]) -> None:
        sources = [f"endpoint:{self._original(k)}" for k in keys]
        try:
            await self._applications.subscribe(self._app, sources)
            return
        except AriError as exc:
            # 422 `Event source does not exist` when one endpoint is not configured in
            # Asterisk (errors.md): the others are still worth watching, one by one.
            log.warning("endpoint subscription failed error=%s: one by one", exc)
        for source in sources:
            try:
                await self._applications.subscribe(self._app, source)
            except AriError as exc:
                log.warning("endpoint subscription failed source=%s error=%s", source, exc)

    def _original(self, key: str) -> str:
        for spec in self._agents().values():
            if endpoint_key(spec.endpoint) == key:
                return spec.endpoint
        return key

    def _should_be(self, agent: str) -> bool:
        spec = self._agents().get(agent)
        if agent in self._engaged:
            return False
        if spec is None:
            return True
        key = endpoint_key(spec.endpoint)
        if key.partition("/")[0] in STATELESS_TECHS:
            return True
        states = [known.get(key, "unknown") for known in self._states.values()]
        return "online" in states or "offline" not in states

    def _tell(self, agent: str) -> None:
        reachable = self._should_be(agent)
        if self._told.get(agent, True) == reachable or agent not in self._agents():
            return
        self._told[agent] = reachable
        log.info("agent reachability agent=%s reachable=%s", agent, reachable)
        self._post(ev.AgentReachabilityChanged(self._now(), agent, reachable))
