"""Every request the client can make matches Asterisk 22's ARI description
(../shared/asterisk/ari-api-docs): path template, HTTP method, and each parameter's
name and place (query or body)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ari_app.client import OPERATIONS, Operation
from tests.ari.conftest import API_DOCS, need


def _documented() -> dict[tuple[str, str], dict[str, Any]]:
    operations = {}
    for path in sorted(need(API_DOCS).glob("*.json")):
        doc = json.loads(path.read_text())
        for api in doc.get("apis", []):
            for op in api.get("operations", []):
                operations[(op["httpMethod"], api["path"])] = op
    return operations


@pytest.mark.parametrize("op", list(OPERATIONS.values()), ids=list(OPERATIONS))
def test_operation_matches_the_api_description(op: Operation) -> None:
    documented = _documented().get((op.method, op.path))
    assert documented is not None, f"{op.method} {op.path} is not in Asterisk 22's ARI"
    params = documented.get("parameters", [])
    by_place = {
        place: {p["name"] for p in params if p["paramType"] == place}
        for place in ("path", "query", "body")
    }
    placeholders = {part[1:-1] for part in op.path.split("/") if part.startswith("{")}
    assert placeholders == by_place["path"]
    assert op.query <= by_place["query"], op.query - by_place["query"]
    assert op.body <= by_place["body"], op.body - by_place["body"]
    required = {p["name"] for p in params if p.get("required") and p["paramType"] != "path"}
    assert required <= op.query | op.body, f"{op.name} cannot send {required}"


def test_the_registry_covers_what_the_engine_needs() -> None:
    names = set(OPERATIONS)
    for needed in (
        "channels.originate",
        "channels.hangup",
        "channels.continue",
        "channels.snoop",
        "bridges.add_channel",
        "bridges.moh_start",
        "playbacks.control",
        "recordings.stop",
        "endpoints.get",
        "applications.subscribe",
    ):
        assert needed in names
