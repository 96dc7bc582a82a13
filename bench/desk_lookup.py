"""CPU per screen-pop lookup: what the desk reads from the store for every queued caller.

    python -m bench.desk_lookup [--url URL] [--lookups 2000] [--customers 100000]

A store of ``--customers`` customers (a tenth with tags), 200,000 past interactions over
a quarter of the numbers, and complaint tickets (with their events, a third closed) for
one customer in twenty. The lookups go mostly to unknown numbers, as in ``bench/load.py``
(80 % nothing at all, 10 % a known customer with tickets and history, 10 % an unknown
number with history). Each way is timed with ``time.process_time`` (the whole process:
aiosqlite's worker thread included), one lookup at a time, both ways in the same run so
the comparison is A/B in the same minute; the load average is printed with the figures.

``separate``: the three reads the desk made before (customer, history, open tickets, each
in its own connection, gathered). ``combined``: ``look_up_caller``
(``callcenter/store/caller_lookup.py``), what it makes now. ``--url``: an empty database
(PostgreSQL: ``postgresql+asyncpg://...``; its server's CPU is not counted), else a SQLite
file in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from callcenter.store import Store
from callcenter.store.caller_lookup import look_up_caller
from callcenter.store.schema import customer_tags, customers, interactions, ticket_events, tickets
from callcenter.store.tickets import open_tickets_of

HISTORY = 11  # the desk's HISTORY_LIMIT + 1
TICKETS = 5  # the desk's OPEN_TICKETS_LIMIT
T0 = 1_700_000_000.0


def number(i: int) -> str:
    return f"+8613{i:09d}"


async def populate(store: Store, n_customers: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    chunk = 10_000
    for start in range(0, n_customers, chunk):
        rows = [
            {"number": number(i), "name": f"Customer {i}", "notes": "note" if i % 3 else None,
             "vip": i % 50 == 0, "language": "zh", "created_at": T0, "updated_at": T0 + i}
            for i in range(start, min(n_customers, start + chunk))
        ]  # fmt: skip
        tags = [
            {"number": number(i), "tag": tag}
            for i in range(start, min(n_customers, start + chunk))
            if i % 10 == 0
            for tag in ("gold", "complained")
        ]
        async with store.transaction() as tx:
            await tx.conn.execute(insert(customers), rows)
            await tx.conn.execute(insert(customer_tags), tags)
    # History: 200,000 interactions over the first quarter of the customers' numbers and
    # as many numbers that are no customers (index >= n_customers).
    callers = [number(i) for i in range(n_customers // 4)]
    callers += [number(n_customers + i) for i in range(n_customers // 4)]
    for start in range(0, 200_000, chunk):
        rows = [
            {"call_id": f"call-{k}", "caller_number": rng.choice(callers), "queue": "sales",
             "agent": "1001", "arrived_at": T0 + k, "disposition": "resolved", "notes": "n"}
            for k in range(start, start + chunk)
        ]  # fmt: skip
        async with store.transaction() as tx:
            await tx.conn.execute(insert(interactions), rows)
    # Tickets: one customer in twenty has 1-3, each with 1-3 events; a third closed.
    ticket_rows: list[dict[str, Any]] = []
    for i in range(0, n_customers // 4, 20):
        for _ in range(rng.randint(1, 3)):
            ticket_rows.append({
                "customer": number(i), "department": "billing",
                "status": rng.choice(("open", "assigned", "closed")), "summary": "refund",
                "created_by": "1001", "created_at": T0, "updated_at": T0 + len(ticket_rows),
            })  # fmt: skip
    async with store.transaction() as tx:
        await tx.conn.execute(insert(tickets), ticket_rows)
        event_rows = [
            {"ticket_id": t, "at": T0 + t + e, "actor": "1001", "action": "note", "text": f"e{e}"}
            for t in range(1, len(ticket_rows) + 1)
            for e in range(rng.randint(1, 3))
        ]
        await tx.conn.execute(insert(ticket_events), event_rows)


def lookup_numbers(n_customers: int, lookups: int, seed: int = 11) -> list[str]:
    """80 % unknown (no customer, no history), 10 % customers with tickets and history,
    10 % unknown numbers with history."""
    rng = random.Random(seed)
    out = []
    for k in range(lookups):
        kind = k % 10
        if kind == 0:
            out.append(number(rng.randrange(0, n_customers // 4, 20)))
        elif kind == 1:
            out.append(number(n_customers + rng.randrange(n_customers // 4)))
        else:
            out.append(number(10 * n_customers + rng.randrange(10**6)))
    return out


async def separate(store: Store, caller: str) -> object:
    return await asyncio.gather(
        store.get_customer(caller),
        store.interactions_of_caller(caller, limit=HISTORY),
        open_tickets_of(store, caller, limit=TICKETS),
    )


async def combined(store: Store, caller: str) -> object:
    return await look_up_caller(store, caller, history_limit=HISTORY, tickets_limit=TICKETS)


WAYS: dict[str, Callable[[Store, str], Awaitable[object]]] = {
    "separate": separate,
    "combined": combined,
}


async def measure(
    store: Store, way: Callable[[Store, str], Awaitable[object]], numbers: list[str]
) -> float:
    """CPU seconds per lookup, one lookup at a time (after a warm-up)."""
    for caller in numbers[:200]:
        await way(store, caller)
    cpu = time.process_time()
    for caller in numbers:
        await way(store, caller)
    return (time.process_time() - cpu) / len(numbers)


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.desk_lookup", description=__doc__)
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the ways")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{Path(tmp) / 'store.db'}"
        async with await Store.open(url) as store:
            started = time.monotonic()
            await populate(store, args.customers)
            print(f"populated in {time.monotonic() - started:.1f} s")
            numbers = lookup_numbers(args.customers, args.lookups)
            best: dict[str, float] = {}
            for _ in range(args.rounds):
                for name, way in WAYS.items():
                    per = await measure(store, way, numbers)
                    best[name] = min(best.get(name, per), per)
                    print(f"  {name:9s} {per * 1e3:.3f} ms CPU/lookup "
                          f"(load {os.getloadavg()[0]:.2f})")  # fmt: skip
            for name, per in best.items():
                print(f"{name:9s} best {per * 1e3:.3f} ms CPU per lookup")


if __name__ == "__main__":
    asyncio.run(main())
