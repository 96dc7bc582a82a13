"""Every REST route the simulator serves is one Asterisk 22 has (method and path), as its
API description in ../shared/asterisk/ari-api-docs declares them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sim.routes import ROUTES

API_DOCS = Path(__file__).resolve().parents[2] / ".." / "shared" / "asterisk" / "ari-api-docs"


def documented() -> set[tuple[str, str]]:
    if not (API_DOCS / "resources.json").is_file():
        pytest.skip(f"{API_DOCS} is absent: Asterisk's API description lives outside the repo")
    operations = set()
    for doc in API_DOCS.glob("*.json"):
        for api in json.loads(doc.read_text()).get("apis", []):
            # `{channelId}` -> a sample segment the simulator's patterns must accept.
            path = "/ari" + re.sub(r"\{\w+\}", "x", api["path"])
            for operation in api.get("operations", []):
                operations.add((operation["httpMethod"], path))
    return operations


def test_every_simulated_route_is_in_asterisks_api() -> None:
    operations = documented()
    undocumented = [
        (method, pattern.pattern)
        for method, pattern, _handler in ROUTES
        if not any(m == method and pattern.match(path) for m, path in operations)
    ]
    assert undocumented == []
