"""Error responses map to exceptions that keep Asterisk's status and message."""

from __future__ import annotations

import json

from ari_app.client import (
    AllocationFailedError,
    AriBadRequestError,
    AriConflictError,
    AriHttpError,
    AriNotFoundError,
    AriServerError,
    AriUnauthorizedError,
    AriUnprocessableError,
)
from ari_app.client.errors import http_error
from tests.ari.conftest import trace_lines

EXPECTED: dict[int, type[AriHttpError]] = {
    400: AriBadRequestError,
    401: AriUnauthorizedError,
    404: AriNotFoundError,
    409: AriConflictError,
    422: AriUnprocessableError,
    500: AriServerError,
}


def test_every_recorded_error_maps_to_its_class_and_message() -> None:
    seen = set()
    for line in trace_lines("errors.jsonl"):
        if line.get("dir") != "rest" or line["status"] < 400:
            continue
        body = line["response"]
        error = http_error(line["status"], json.dumps(body), line["method"], line["path"])
        assert isinstance(error, EXPECTED.get(line["status"], AriHttpError))
        assert error.status == line["status"]
        assert error.message == body.get("message", body.get("error"))
        seen.add(line["status"])
    assert {400, 404, 409, 422, 500} <= seen


def test_allocation_failure_is_told_apart_by_its_error_key() -> None:
    # agent_unreachable.md: the only body using "error" instead of "message".
    error = http_error(500, '{"error":"Allocation failed"}', "POST", "/ari/channels")
    assert isinstance(error, AllocationFailedError)
    assert error.message == "Allocation failed"
    other = http_error(500, '{"message":"Failed to queue media for playback"}', "POST", "/x")
    assert not isinstance(other, AllocationFailedError)


def test_a_non_json_body_is_kept_as_text() -> None:
    error = http_error(400, "<p>HTTP request is missing param: [app]</p>", "GET", "/ari/events")
    assert isinstance(error, AriBadRequestError)
    assert "missing param" in error.message
