"""REST over the events websocket: frames and the answers Asterisk 22.10.1 gives them.

Seen on a live Asterisk 22.10.1 (tests/asterisk/test_socket_requests.py sends the same
frames to one); the simulator must answer alike (tests/sim/test_socket_requests.py).
Each case: the frame's text, then the answer's status, reason phrase, uri, and its
``message_body``'s ``message`` (None: no body at all, as a 204 has).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Case:
    name: str
    frame: str
    status: int
    reason: str
    uri: str
    message: str | None
    request_id: str = ""


def _frame(**fields: Any) -> str:
    return json.dumps(fields)


def _get(request_id: str, uri: str, method: str = "GET") -> str:
    return _frame(type="RESTRequest", request_id=request_id, method=method, uri=uri)


ERRORS = [
    Case("not JSON", "not json", 400, "Failed to parse request message JSON", "", None),
    Case("no type", _frame(request_id="e1", method="GET", uri="bridges"),
         400, "Bad request", "", "No 'type' property.", "e1"),
    Case("other type", _frame(type="Other", request_id="e2", method="GET", uri="bridges"),
         400, "Bad request", "", "Unknown request type.", "e2"),
    Case("no uri", _frame(type="RESTRequest", request_id="e3", method="GET"),
         400, "Bad request", "", "Empty or missing 'uri' property.", "e3"),
    Case("bad method", _frame(type="RESTRequest", request_id="e4", method="FETCH", uri="bridges"),
         400, "Bad request", "bridges", "Unknown or missing 'method' property.", "e4"),
    Case("leading slash", _get("e5", "/bridges"),
         405, "Method Not Allowed", "/bridges", "Invalid method", "e5"),
    Case("trailing slash", _get("e6", "bridges/"),
         404, "Not Found", "bridges/", "ARI URLs do not end with a slash. Try /ari/bridges", "e6"),
    Case("wrong verb", _get("e7", "bridges", "PUT"),
         405, "Method Not Allowed", "bridges", "Invalid method", "e7"),
    Case("unknown channel", _frame(type="RESTRequest", request_id="e8", method="DELETE",
                                   uri="channels/nope"),
         404, "Not Found", "channels/nope", "Channel not found", "e8"),
    Case("body without type", _frame(type="RESTRequest", request_id="e9", method="POST",
                                     uri="bridges", message_body='{"type": "mixing"}'),
         400, "Bad request", "bridges", "No 'content_type' for 'message_body'.", "e9"),
]  # fmt: skip

NAME = "a b+c&d=e"
"""A bridge name with every character a query string would need escaped."""


def create_bridge(request_id: str) -> str:
    """A bridge made with query pairs; the answer's uri drops the query."""
    return _frame(
        type="RESTRequest",
        request_id=request_id,
        method="POST",
        uri="bridges?type=mixing",
        query_strings=[{"name": "name", "value": NAME}],
    )


def destroy_bridge(request_id: str, bridge: str) -> str:
    return _frame(
        type="RESTRequest", request_id=request_id, method="DELETE", uri=f"bridges/{bridge}"
    )


def check(case: Case, answer: dict[str, Any]) -> None:
    """``answer`` is ``case``'s, as Asterisk gives it."""
    assert answer["type"] == "RESTResponse", answer
    assert answer["request_id"] == case.request_id, (case.name, answer)
    assert answer["transaction_id"] == "", (case.name, answer)
    assert (answer["status_code"], answer["reason_phrase"], answer["uri"]) == (
        case.status, case.reason, case.uri), (case.name, answer)  # fmt: skip
    if case.message is None:
        assert "message_body" not in answer, answer
        assert "content_type" not in answer, answer
    else:
        assert answer["content_type"] == "application/json", answer
        assert json.loads(answer["message_body"]) == {"message": case.message}, answer
    assert {"application", "timestamp", "asterisk_id"} <= set(answer), answer
