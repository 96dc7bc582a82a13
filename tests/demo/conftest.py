"""The live demo's tests: a fast scenario on the sample configuration, and a look at
which processes of a run are still alive."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Callers every ~3 s dial the packaging number, press 1 (sales) at once, talk 2 s; three
# agents of sales work; a caller who waits 6 s gives up. Enough for answered calls and
# offers within seconds of real time.
FAST = """\
config: {config}
seed: 3
day: {{start: "06:00", hours: 1}}
arrivals:
  - number: "4008201001"
    per_hour: 1200
callers:
  patience: {{fixed: 6}}
ivr:
  hotline-main:
    choices: {{1: 1.0}}
    time: {{fixed: 0.5}}
  hotline-support: {{choices: {{3: 1.0}}}}           # not reached: every caller presses 1
  hotline-authenticity: {{choices: {{0: 1.0}}}}
agents:
  talk_time: {{fixed: 2}}
  answer_delay: {{fixed: 0.3}}
  wrapup: {{fixed: 0.5}}
  shifts:
    - {{agents: [1001, 1002, 1003], start: "06:00", end: "07:00"}}
"""


@pytest.fixture
def fast_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "fast.yaml"
    path.write_text(FAST.format(config=REPO / "queues"), encoding="utf-8")
    return path


def processes_of(workdir: Path) -> list[int]:
    """Live processes started for the run in ``workdir``: the engine, the floor and the
    broker (the engine's child) all carry the store's path in their environment."""
    marker = str(workdir).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if marker in environ and state != "Z":
            found.append(int(entry.name))
    return found
