"""The store writer's CPU per call, its batches straight on sqlite3 or through SQLAlchemy.

Stand-alone (not part of ``make bench``)::

    python -m bench.store_writer [--calls-per-batch 8] [--batches 40]

Each call submits what the engine's journal submits for an answered call (three
interaction writes, a leg, three queue_log lines, three agent state changes); a batch
is flushed after ``--calls-per-batch`` calls (the engine writes one every 0.2 s: 8 calls
at 40 calls/s). The CPU is the whole process's (the event loop and the writing threads).
``direct``: the batches on the writer's own sqlite3 connection in one trip to its thread
(``callcenter/store/sqlite_batch.py``); ``sqlalchemy``: through the async engine and
aiosqlite, as before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
from pathlib import Path

from callcenter.core.commands import AgentStateChanged, QueueLog
from callcenter.core.states import AgentState
from callcenter.store import Leg, Store, StoreWriter


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _submit_call(writer: StoreWriter, call: str, now: float) -> None:
    s = AgentState
    writer.interaction(call, caller_number="5000000", arrived_at=now, queue="sales")
    writer.queue_log(QueueLog(now, call, "sales", "NONE", "ENTERQUEUE", ("", "5000000", "1")))
    writer.agent_state(AgentStateChanged("100001", s.READY, s.RINGING, "offer", call=call), now)
    writer.interaction(call, agent="100001", answered_at=now + 1)
    writer.leg(Leg(call, "100001", now, "answered", "sales", now + 1, now + 2))
    writer.queue_log(QueueLog(now + 1, call, "sales", "100001", "CONNECT", ("1", "x", "0")))
    writer.agent_state(AgentStateChanged("100001", s.RINGING, s.ON_CALL, "answer", call=call), now)
    writer.interaction(call, ended_at=now + 2, disposition="resolved")
    writer.queue_log(QueueLog(now + 2, call, "sales", "100001", "COMPLETECALLER", ("1", "1")))
    writer.agent_state(AgentStateChanged("100001", s.ON_CALL, s.WRAP_UP, "hangup", call=call), now)


async def measure(path: str, *, direct: bool, per_batch: int, batches: int) -> float:
    """CPU milliseconds per call."""
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    writer = StoreWriter(store, flush_interval=60.0)
    if not direct:
        writer.sqlite_batches = None
    try:
        async with writer:
            _submit_call(writer, "warm-up", 1_795_000_000.0)
            await writer.flush()
            started = _cpu()
            for batch in range(batches):
                for n in range(per_batch):
                    _submit_call(writer, f"{direct}-{batch}-{n}", 1_795_000_000.0 + batch)
                await writer.flush()
            used = _cpu() - started
    finally:
        await store.close()
    return 1000 * used / (per_batch * batches)


async def run(per_batch: int, batches: int) -> dict[str, float]:
    figures: dict[str, list[float]] = {"direct": [], "sqlalchemy": []}
    with tempfile.TemporaryDirectory() as directory:
        for round_ in range(3):  # interleaved: the machine's noise falls on both
            for kind in figures:
                path = str(Path(directory) / f"{kind}-{round_}.db")
                ms = await measure(path, direct=kind == "direct", per_batch=per_batch,
                                   batches=batches)  # fmt: skip
                figures[kind].append(ms)
    return {kind: round(sorted(values)[1], 3) for kind, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls-per-batch", type=int, default=8)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = asyncio.run(run(args.calls_per_batch, args.batches))
    if args.json:
        print(json.dumps({"calls_per_batch": args.calls_per_batch, "cpu_ms_per_call": figures}))
        return
    print(f"store writer, {args.calls_per_batch} calls per batch: CPU per call (median of 3)")
    for kind, ms in figures.items():
        print(f"  {kind:<11} {ms:.3f} ms")


if __name__ == "__main__":
    main()
