"""REST operations on endpoints, device states, applications and Asterisk itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ari_app.client import operations as ops
from ari_app.client.models import Application, DeviceState, Endpoint, Variable
from ari_app.client.rest import RestApi


class Endpoints:
    def __init__(self, rest: RestApi) -> None:
        self._rest = rest

    async def list(self, tech: str | None = None) -> list[Endpoint]:
        if tech is None:
            data = await self._rest.call(ops.ENDPOINTS_LIST)
        else:
            data = await self._rest.call(ops.ENDPOINTS_LIST_BY_TECH, {"tech": tech})
        return [Endpoint.model_validate(e) for e in data]

    async def get(self, tech: str, resource: str) -> Endpoint:
        """`state` is `offline` for an unregistered PJSIP endpoint (agent_unreachable.md)."""
        params = {"tech": tech, "resource": resource}
        return Endpoint.model_validate(await self._rest.call(ops.ENDPOINTS_GET, params))


class DeviceStates:
    def __init__(self, rest: RestApi) -> None:
        self._rest = rest

    async def list(self) -> list[DeviceState]:
        data = await self._rest.call(ops.DEVICE_STATES_LIST)
        return [DeviceState.model_validate(d) for d in data]

    async def get(self, name: str) -> DeviceState:
        data = await self._rest.call(ops.DEVICE_STATES_GET, {"deviceName": name})
        return DeviceState.model_validate(data)

    async def update(self, name: str, state: str) -> None:
        """Only `Stasis:` devices can be set."""
        query = {"deviceState": state}
        await self._rest.call(ops.DEVICE_STATES_UPDATE, {"deviceName": name}, query)

    async def delete(self, name: str) -> None:
        await self._rest.call(ops.DEVICE_STATES_DELETE, {"deviceName": name})


class Applications:
    def __init__(self, rest: RestApi) -> None:
        self._rest = rest

    async def list(self) -> list[Application]:
        data = await self._rest.call(ops.APPLICATIONS_LIST)
        return [Application.model_validate(a) for a in data]

    async def get(self, name: str) -> Application:
        data = await self._rest.call(ops.APPLICATIONS_GET, {"applicationName": name})
        return Application.model_validate(data)

    async def subscribe(self, name: str, event_sources: str | Sequence[str]) -> Application:
        """Sources are `channel:<id>`, `bridge:<id>`, `endpoint:<tech>/<res>`,
        `deviceState:<name>`. Needed for endpoint/device events: `subscribeAll` on the
        websocket only applies when the app is created (reconnect.md)."""
        params = {"applicationName": name}
        query = {"eventSource": event_sources}
        data = await self._rest.call(ops.APPLICATIONS_SUBSCRIBE, params, query)
        return Application.model_validate(data)

    async def filter(
        self,
        name: str,
        *,
        allowed: Sequence[str] | None = None,
        disallowed: Sequence[str] | None = None,
    ) -> Application:
        """Which event types Asterisk sends the app: ``allowed`` only (empty: all), never
        ``disallowed``; a list left out is kept as it was (Asterisk's res/stasis/app.c)."""
        chosen = {"allowed": allowed, "disallowed": disallowed}
        spec = {key: [{"type": t} for t in types] for key, types in chosen.items()
                if types is not None}  # fmt: skip
        data = await self._rest.call(
            ops.APPLICATIONS_FILTER, {"applicationName": name}, body={"filter": spec}
        )
        return Application.model_validate(data)

    async def unsubscribe(self, name: str, event_sources: str | Sequence[str]) -> Application:
        params = {"applicationName": name}
        query = {"eventSource": event_sources}
        data = await self._rest.call(ops.APPLICATIONS_UNSUBSCRIBE, params, query)
        return Application.model_validate(data)


class AsteriskSystem:
    def __init__(self, rest: RestApi) -> None:
        self._rest = rest

    async def ping(self) -> dict[str, Any]:
        data: dict[str, Any] = await self._rest.call(ops.ASTERISK_PING)
        return data

    async def info(self, only: str | Sequence[str] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = await self._rest.call(ops.ASTERISK_INFO, query={"only": only})
        return data

    async def get_variable(self, variable: str) -> str:
        data = await self._rest.call(ops.ASTERISK_VAR_GET, query={"variable": variable})
        return Variable.model_validate(data).value

    async def set_variable(self, variable: str, value: str) -> None:
        query = {"variable": variable, "value": value}
        await self._rest.call(ops.ASTERISK_VAR_SET, query=query)
