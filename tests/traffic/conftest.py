"""Scenario files written from inline YAML in a temporary directory.

``write_scenario(text)`` writes ``scenario.yaml`` (line 1 is the first line of ``text``
after dedenting) with a ``config:`` line prepended only when asked, so error positions
can be counted in the test's own text.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "queues"
HOTLINE = REPO / "scenarios" / "hotline-morning.yaml"

WriteScenario = Callable[[str], Path]


@pytest.fixture
def write_scenario(tmp_path: Path) -> WriteScenario:
    def write(text: str) -> Path:
        path = tmp_path / "scenario.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


def single_queue_config(directory: Path, agents: int, *, wrapup: float = 0.0) -> Path:
    """One queue ``q`` served by ``agents`` agents ``a01``...: the Erlang C model's center."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        "pause_reasons:",
        "  missed: {label: Missed calls, on_ring_no_answer: true}",
        "queues:",
        f"  q: {{strategy: leastrecent, wrapup: {wrapup:g}, retry: 0, service_level: 20}}",
        "agents:",
    ]
    lines += [f"  a{i:02}: {{name: A{i}, endpoint: PJSIP/a{i:02}, queues: [q]}}"
              for i in range(1, agents + 1)]  # fmt: skip
    (directory / "center.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory
