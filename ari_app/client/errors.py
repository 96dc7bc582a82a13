"""Exceptions for ARI failures: REST errors carry Asterisk's status and message."""

from __future__ import annotations

import json
from typing import Any


class AriError(Exception):
    """Base class of everything the ARI client raises."""


class AriConnectionError(AriError):
    """Asterisk could not be reached (refused, reset, timed out)."""


class AriHttpError(AriError):
    """Asterisk answered a REST request with an error status.

    `message` is Asterisk's own text (`Channel not found`, `Allocation failed`, ...),
    so callers can log it or match on it when the status alone is ambiguous.
    """

    status: int = 0

    def __init__(self, status: int, message: str, method: str, path: str) -> None:
        super().__init__(f"{method} {path} -> {status} {message}")
        self.status = status
        self.message = message
        self.method = method
        self.path = path


class AriBadRequestError(AriHttpError):
    """400: a missing or invalid parameter (`DTMF is required`, `Invalid direction specified`)."""


class AriUnauthorizedError(AriHttpError):
    """401: wrong or missing credentials."""


class AriNotFoundError(AriHttpError):
    """404: the channel, bridge, playback, recording or variable does not exist."""


class AriConflictError(AriHttpError):
    """409: the object is in the wrong state (`Channel not in Stasis application`, duplicate id)."""


class AriUnprocessableError(AriHttpError):
    """422: the request is well formed but cannot apply (`Channel not in this bridge`)."""


class AriServerError(AriHttpError):
    """500 and other 5xx: Asterisk failed to do it."""


class AllocationFailedError(AriServerError):
    """500 `{"error":"Allocation failed"}`: the endpoint cannot take a channel.

    Unregistered or unknown PJSIP endpoint, or unknown technology; synchronous, no
    channel and no event follow (agent_unreachable.md, errors.md).
    """


_BY_STATUS: dict[int, type[AriHttpError]] = {
    400: AriBadRequestError,
    401: AriUnauthorizedError,
    404: AriNotFoundError,
    409: AriConflictError,
    422: AriUnprocessableError,
}


def error_message(body: str) -> tuple[str, bool]:
    """Asterisk's message from an error body, and whether it used the `error` key.

    Every error body is `{"message": ...}` except channel allocation failure, which is
    `{"error": "Allocation failed"}` (errors.md). Non-JSON bodies are returned as text.
    """
    try:
        data: Any = json.loads(body)
    except ValueError:
        return body.strip(), False
    if isinstance(data, dict):
        if isinstance(data.get("message"), str):
            return data["message"], False
        if isinstance(data.get("error"), str):
            return data["error"], True
    return body.strip(), False


def http_error(status: int, body: str, method: str, path: str) -> AriHttpError:
    """The exception for an error response, chosen by status (and the `error` key on 5xx)."""
    message, is_error_key = error_message(body)
    if status >= 500:
        cls: type[AriHttpError] = AllocationFailedError if is_error_key else AriServerError
    else:
        cls = _BY_STATUS.get(status, AriHttpError)
    return cls(status, message, method, path)
