"""Our own asyncio ARI client: aiohttp for REST, our own websocket client for events.

One `AriClient` per Asterisk server; every event names the server it came from.
Several servers: `pool.AriPool` sends each request to the server of the call it serves.
"""

from ari_app.client.backoff import Backoff
from ari_app.client.client import AriClient, Keepalive, Snapshot, events_url
from ari_app.client.errors import (
    AllocationFailedError,
    AriBadRequestError,
    AriConflictError,
    AriConnectionError,
    AriError,
    AriHttpError,
    AriNotFoundError,
    AriServerError,
    AriUnauthorizedError,
    AriUnprocessableError,
)
from ari_app.client.events import EVENT_TYPES, AriEvent, parse_event
from ari_app.client.models import (
    Application,
    Bridge,
    CallerId,
    Channel,
    DeviceState,
    Endpoint,
    LiveRecording,
    Playback,
    StoredRecording,
)
from ari_app.client.operations import OPERATIONS, Operation
from ari_app.client.rest import AriRest, AriServer

__all__ = [
    "EVENT_TYPES",
    "OPERATIONS",
    "AllocationFailedError",
    "Application",
    "AriBadRequestError",
    "AriClient",
    "AriConflictError",
    "AriConnectionError",
    "AriError",
    "AriEvent",
    "AriHttpError",
    "AriNotFoundError",
    "AriRest",
    "AriServer",
    "AriServerError",
    "AriUnauthorizedError",
    "AriUnprocessableError",
    "Backoff",
    "Bridge",
    "CallerId",
    "Channel",
    "DeviceState",
    "Endpoint",
    "Keepalive",
    "LiveRecording",
    "Operation",
    "Playback",
    "Snapshot",
    "StoredRecording",
    "events_url",
    "parse_event",
]
