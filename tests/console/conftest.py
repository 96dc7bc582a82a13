"""Shared by the console tests: the sample configuration's resources, rendering helpers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Static

from console.resources import DeskResources, load_resources
from tests.bus.conftest import (  # noqa: F401 - the bus tests' brokers, both of them
    amqtt_bus,
    amqtt_password_file,
    bus,
    mosquitto_bus,
    mosquitto_server,
)

REPO = Path(__file__).resolve().parents[2]
# Caller-supplied text that would be styled, or break quoting, if interpreted.
HOSTILE_NAME = '[bold]x[/] O\'Brien "VIP" 张'


@pytest.fixture(scope="session")
def resources() -> DeskResources:
    return load_resources(REPO / "queues")


def rendered(widget: Static, width: int = 100) -> str:
    """What ``widget`` shows, as plain text (styles dropped, markup not interpreted)."""
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()
