"""FastAGI ``caller_lookup``: requests per second and latency, 100,000 customers in SQLite.

The server is the real ``callcenter fastagi`` in a child process on loopback; this process
plays Asterisk with ``concurrency`` connections at a time, each one a whole AGI session
(connect, header, the script's commands and our replies, close), for known and unknown
callers alike. Latency is from connect to close. Bounded by a request count and a time limit.

Both share this machine's cores, so the figures include what each process spent on the CPU
per request (``server_cpu_us``, ``load_cpu_us``): when the load generator costs as much as
the server, it is a bottleneck too. It is kept lean for that reason (a bare Protocol on the
same event loop as the server, uvloop when installed) and runs in its own process.

Measured on the 2-core development machine (2026-11-27), ``python -m bench --only agi``:
with asyncio streams and the standard loop about 1,100 requests/s, p99 23 ms; with the
Protocol transport (``agi_scripts/connection.py``) on uvloop about 2,000-2,900 requests/s,
p99 6-13 ms, depending on what else runs on those cores. Most of what is left is the
kernel's: one loopback round trip per AGI command, which must not be pipelined.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from sqlalchemy import insert

from callcenter.store import Store
from callcenter.store.schema import customer_tags, customers

RPS_TARGET = 2000.0
P99_TARGET_MS = 10.0
_PORT = re.compile(rb"FastAGI on [0-9.]+:([0-9]+)")


async def _fill(path: Path, count: int) -> None:
    now = time.time()
    async with await Store.open(path) as store, store.transaction() as tx:
        rows = [
            {
                "number": f"1{index:010d}",
                "name": f"Customer {index}",
                "vip": index % 50 == 0,
                "language": "zh" if index % 3 else "en",
                "created_at": now,
                "updated_at": now,
            }
            for index in range(count)
        ]
        await tx.conn.execute(insert(customers), rows)
        tags = [{"number": r["number"], "tag": "repeat"} for r in rows[::10]]
        await tx.conn.execute(insert(customer_tags), tags)


def _header(number: str, serial: int) -> bytes:
    lines = [
        "agi_network: yes",
        "agi_network_script: caller_lookup",
        "agi_request: agi://127.0.0.1:4573/caller_lookup",
        f"agi_channel: PJSIP/trunk-{serial:08x}",
        "agi_language: en",
        "agi_type: PJSIP",
        f"agi_uniqueid: 1795753044.{serial}",
        "agi_version: 22.10.1",
        f"agi_callerid: {number}",
        "agi_calleridname: Caller",
        "agi_context: from-trunk",
        "agi_extension: 4008201001",
        "agi_priority: 1",
        "",
    ]
    return "".join(line + "\n" for line in lines).encode()


class _Asterisk(asyncio.Protocol):
    """Asterisk's side of one FastAGI call, as lean as we can make it: the load generator
    shares this machine's two cores with the server, so its own cost is kept low (a
    Protocol, no stream objects): sends the header, answers every command line with
    ``200 result=1``, and is done when the server closes."""

    def __init__(self, header: bytes, done: asyncio.Future[None]) -> None:
        self.header, self.done, self.pending = header, done, b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.header)

    def data_received(self, data: bytes) -> None:
        lines = (self.pending + data).split(b"\n")
        self.pending = lines.pop()
        if lines:
            self.transport.write(b"200 result=1\n" * len(lines))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _one(port: int, number: str, serial: int) -> float:
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    header = _header(number, serial)
    await loop.create_connection(lambda: _Asterisk(header, done), "127.0.0.1", port)
    await done
    return time.perf_counter() - started


async def _load(port: int, customers_count: int, requests: int, concurrency: int,
                limit: float) -> tuple[list[float], float]:  # fmt: skip
    rng = random.Random(5)
    latencies: list[float] = []
    deadline = time.monotonic() + limit
    counter = iter(range(requests))

    async def worker() -> None:
        for serial in counter:
            if time.monotonic() > deadline:
                return
            index = rng.randrange(customers_count * 5 // 4)  # a fifth unknown
            latencies.append(await _one(port, f"1{index:010d}", serial))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


def _start_server(db: Path) -> tuple[subprocess.Popen[bytes], int]:
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "callcenter.cli", "fastagi", "--port", "0", "--db", str(db),
         "--config", str(db.parent / "no-config")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert server.stdout is not None
    line = server.stdout.readline()
    match = _PORT.search(line)
    if match is None:
        server.kill()
        raise RuntimeError(f"the FastAGI server did not start: {line!r}")
    return server, int(match.group(1))


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_loop(main: Any) -> Any:
    from agi_scripts.app import run_fast  # the server's own event loop choice

    return run_fast(main)


def run(quick: bool = False) -> dict[str, Any]:
    """The figures as a dict (see the keys); ``quick``: fewer customers and requests."""
    customers_count = 10_000 if quick else 100_000
    requests = 2_000 if quick else 20_000
    concurrency = 8
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        asyncio.run(_fill(db, customers_count))
        server, port = _start_server(db)
        try:
            _run_loop(_load(port, customers_count, 200, concurrency, 10.0))  # warm up
            server_cpu, load_cpu = _cpu_seconds(server.pid), time.process_time()
            latencies, elapsed = _run_loop(
                _load(port, customers_count, requests, concurrency, 60.0)
            )
            server_cpu = _cpu_seconds(server.pid) - server_cpu
            load_cpu = time.process_time() - load_cpu
        finally:
            server.terminate()
            server.wait(10)
    latencies.sort()
    done = len(latencies)
    rps = done / elapsed
    p50 = latencies[done // 2] * 1000
    p99 = latencies[min(done - 1, int(done * 0.99))] * 1000
    return {
        "customers": customers_count,
        "requests": done,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(rps, 1),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
        "load_average": round(os.getloadavg()[0], 2),  # other work on the same cores
        "server_cpu_us": round(server_cpu / done * 1e6),
        "load_cpu_us": round(load_cpu / done * 1e6),
        "targets": {
            "requests_per_second": {"value": rps, "target": RPS_TARGET, "met": rps >= RPS_TARGET},
            "p99_ms": {"value": p99, "target": P99_TARGET_MS, "met": p99 <= P99_TARGET_MS},
        },
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
