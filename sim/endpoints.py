"""Endpoint state and an app's event subscriptions (`/applications/{app}/subscription`).

A phone that registers or goes away changes its endpoint's state (`online`/`offline`,
agent_unreachable.md); Asterisk 22 reports it as `EndpointStateChange` only to apps
subscribed to `endpoint:<tech>/<resource>` or to the whole `endpoint:<tech>`
(ari-api-docs/events.json, applications.json). The subscription errors are the
recorded ones (errors.md): 400 `Missing parameter eventSource`, 400 `Invalid event
source URI scheme`, 422 `Event source does not exist`, 422 `Event source was not
subscribed to`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.errors import AriError

if TYPE_CHECKING:
    from sim.asterisk import SimAsterisk

SCHEMES = ("channel", "bridge", "endpoint", "deviceState")
TECHS = frozenset({"PJSIP", "Local", "SIP", "IAX2"})


def endpoint_json(ast: SimAsterisk, endpoint: str, state: str) -> dict[str, Any]:
    tech, _, resource = endpoint.partition("/")
    ids = [c.id for c in ast.channels.values() if c.name.startswith(endpoint + "-")]
    return {"technology": tech, "resource": resource, "state": state, "channel_ids": ids}


def _sources(ast: SimAsterisk, app: str, raw: Any) -> list[str]:
    if not ast.bus.connected(app):
        raise AriError(404, "Application not found")
    if not raw:
        raise AriError(400, "Missing parameter eventSource")
    sources = [s for s in str(raw).split(",") if s]
    for source in sources:
        scheme, sep, _ = source.partition(":")
        if not sep or scheme not in SCHEMES:
            raise AriError(400, "Invalid event source URI scheme")
    return sources


def _exists(ast: SimAsterisk, source: str) -> bool:
    scheme, _, name = source.partition(":")
    if scheme == "channel":
        return name in ast.channels
    if scheme == "bridge":
        return name in ast.bridges
    if scheme == "endpoint":
        if "/" not in name:
            return name in TECHS
        return ast.endpoints.state(name) is not None
    return True  # deviceState: any name can be watched


def subscribe(ast: SimAsterisk, app: str, raw: Any) -> None:
    sources = _sources(ast, app, raw)
    if not all(_exists(ast, s) for s in sources):
        raise AriError(422, "Event source does not exist")
    ast.subscriptions.setdefault(app, set()).update(sources)


def unsubscribe(ast: SimAsterisk, app: str, raw: Any) -> None:
    sources = _sources(ast, app, raw)
    held = ast.subscriptions.get(app, set())
    if not all(s in held for s in sources):
        raise AriError(422, "Event source was not subscribed to")
    held.difference_update(sources)


def endpoint_ids(ast: SimAsterisk, app: str) -> list[str]:
    return sorted(
        s.partition(":")[2] for s in ast.subscriptions.get(app, ()) if s.startswith("endpoint:")
    )


def state_changed(ast: SimAsterisk, endpoint: str, state: str) -> None:
    """`EndpointStateChange` to every app subscribed to the endpoint or its technology."""
    tech = endpoint.partition("/")[0]
    wanted = {f"endpoint:{endpoint}", f"endpoint:{tech}"}
    for app, sources in ast.subscriptions.items():
        if sources & wanted:
            ast.bus.emit(app, "EndpointStateChange", endpoint=endpoint_json(ast, endpoint, state))
