"""Fixtures for the ARI client tests: the recorded traces and a fake ARI server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.ari.fake_ari import FakeAri

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "asterisk"
TRACES = SHARED / "traces"
API_DOCS = SHARED / "ari-api-docs"


def need(path: Path) -> Path:
    if not path.is_dir():
        pytest.skip(f"{path} is absent: the recorded Asterisk data lives outside the repository")
    return path


def trace_lines(name: str) -> list[dict[str, Any]]:
    path = need(TRACES) / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
async def fake() -> AsyncIterator[FakeAri]:
    server = await FakeAri().start()
    yield server
    await server.close()
