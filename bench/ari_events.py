"""CPU per ARI event: what reading the websocket's events costs the engine.

    python -m bench.ari_events [--rounds 200] [--parser path/to/events.py]

The events are those Asterisk 22 sent in the recorded traces (``../shared/asterisk/traces``),
re-encoded compact as Asterisk sends them (``ari.conf`` ``pretty=no``). Three mixes:

* ``traces``: every event of every trace, once each;
* ``one call``: the events of ``queue_moh_ring_answer.jsonl``, a caller queued, rung to an
  agent, answered, recorded and hung up: what one real call brings;
* ``20/call``: a synthetic call of 20 events in the proportions of the traces (mostly
  ``ChannelVarset``, ``ChannelDialplan`` and state changes nobody reads).

Each mix is parsed ``--rounds`` times with ``parse_event``, timed with ``time.process_time``;
the figure is CPU microseconds per event and per call. ``--parser`` loads another
``events.py`` (e.g. a copy of an earlier version) to compare A/B in the same run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TRACES = Path(__file__).resolve().parents[1] / ".." / "shared" / "asterisk" / "traces"
ONE_CALL = "queue_moh_ring_answer.jsonl"
SYNTHETIC = {  # 20 events, in the proportions of the traces' events per call
    "ChannelVarset": 6,
    "ChannelDialplan": 2,
    "ChannelHangupRequest": 2,
    "Dial": 1,
    "ChannelStateChange": 1,
    "ChannelConnectedLine": 1,
    "ChannelCallerId": 1,
    "StasisStart": 1,
    "StasisEnd": 1,
    "ChannelDestroyed": 1,
    "ChannelEnteredBridge": 1,
    "ChannelLeftBridge": 1,
    "PlaybackFinished": 1,
}

Parser = Callable[[str, str], object]


def trace_events(name: str | None = None) -> list[str]:
    """The traced events (of one trace, or all), as compact JSON text."""
    paths = [TRACES / name] if name else sorted(TRACES.glob("*.jsonl"))
    events = []
    for path in paths:
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            data: Any = json.loads(line)
            if data.get("dir") == "event":
                data = data["event"]
            elif "dir" in data or not isinstance(data.get("type"), str):
                continue
            events.append(json.dumps(data, separators=(",", ":")))
    return events


def synthetic_call(events: list[str]) -> list[str]:
    by_type: dict[str, list[str]] = {}
    for text in events:
        by_type.setdefault(json.loads(text)["type"], []).append(text)
    return [by_type[kind][i % len(by_type[kind])]
            for kind, n in SYNTHETIC.items() for i in range(n)]  # fmt: skip


def cpu_us(parse: Parser, events: list[str], rounds: int) -> float:
    """CPU microseconds per event, best of three runs of ``rounds`` passes."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(rounds):
            for text in events:
                parse(text, "ast1")
        best = min(best, time.process_time() - start)
    return best / (rounds * len(events)) * 1e6


def load_parser(path: str | None) -> Parser:
    if path is None:
        from ari_app.client.events import parse_event

        return parse_event
    spec = importlib.util.spec_from_file_location("bench_events_alt", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    parse: Parser = module.parse_event
    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ari_events", description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--parser", help="an events.py to measure instead of the current one")
    args = parser.parse_args(argv)
    if not TRACES.is_dir():
        print(f"skipped: {TRACES} is absent (the recorded traces live outside the repository)")
        return 0
    import logging

    logging.disable(logging.INFO)  # the first-seen line of an ignored type is not the cost
    parse = load_parser(args.parser)
    everything = trace_events()
    mixes = {
        "traces": everything,
        "one call": trace_events(ONE_CALL),
        "20/call": synthetic_call(everything),
    }
    print(f"parser: {args.parser or 'ari_app.client.events'}  load average: {os.getloadavg()}")
    for name, events in mixes.items():
        us = cpu_us(parse, events, args.rounds)
        print(f"{name:>9}: {len(events):4d} events  {us:6.2f} us/event  "
              f"{us * len(events):8.1f} us per pass")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
