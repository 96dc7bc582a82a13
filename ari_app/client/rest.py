"""The REST half of the client: one httpx connection pool per Asterisk server."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ari_app.client.errors import AriConnectionError, http_error
from ari_app.client.operations import Operation

log = logging.getLogger(__name__)

QueryValue = str | int | bool | Sequence[str] | None


@dataclass(frozen=True, slots=True)
class AriServer:
    """One Asterisk's ARI: a name the engine knows it by, its HTTP base URL, credentials."""

    name: str
    url: str
    """Base URL without `/ari`, e.g. `http://127.0.0.1:8088`."""
    username: str
    password: str
    app: str = "callcenter"
    """The Stasis application the events websocket registers."""


def query_value(value: str | int | bool | Sequence[str]) -> str:
    """ARI's query encoding: booleans as true/false, lists comma-joined (allowMultiple)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    return ",".join(value)


class AriRest:
    """Makes the requests described by `Operation`s and maps errors to exceptions."""

    def __init__(self, server: AriServer, *, timeout: float = 5.0) -> None:
        self.server = server
        # trust_env=False: ARI sits on a private address; an HTTP(S)_PROXY meant for the
        # internet must not capture it.
        self._http = httpx.AsyncClient(
            base_url=server.url.rstrip("/") + "/ari",
            auth=(server.username, server.password),
            timeout=timeout,
            trust_env=False,
        )

    async def call(
        self,
        op: Operation,
        params: dict[str, str] | None = None,
        query: Mapping[str, QueryValue] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Perform `op`; the decoded JSON response, or None for 204/empty."""
        query = query or {}
        body = body or {}
        undeclared = (set(query) - op.query) | (set(body) - op.body)
        if undeclared:
            raise ValueError(f"{op.name} does not take {sorted(undeclared)}")
        sent_query = {k: query_value(v) for k, v in query.items() if v is not None}
        sent_body = {k: v for k, v in body.items() if v is not None} or None
        path = op.url_path(params or {})
        started = time.perf_counter()
        try:
            response = await self._http.request(op.method, path, params=sent_query, json=sent_body)
        except httpx.TransportError as exc:
            raise AriConnectionError(f"{op.method} {path}: {exc!r}") from exc
        log.debug(
            "ari rest server=%s op=%s path=%s status=%d ms=%.1f",
            self.server.name,
            op.name,
            path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        if response.status_code >= 400:
            raise http_error(response.status_code, response.text, op.method, "/ari" + path)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def aclose(self) -> None:
        await self._http.aclose()
