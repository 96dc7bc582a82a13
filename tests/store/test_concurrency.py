"""Several writers on one SQLite file (separate engines, as separate processes would have)
never hit "database is locked": writes begin IMMEDIATE and wait on the busy timeout."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from callcenter.core.commands import AgentStateChanged, QueueLog
from callcenter.core.states import AgentState as S
from callcenter.store import Store, StoreWriter
from callcenter.store.reports import agent_occupancy, traffic
from callcenter.store.schema import interactions

WRITERS = 4
ROUNDS = 40


async def read_then_write(store: Store, writer: int) -> None:
    """Each transaction reads first and writes after: with a deferred BEGIN two of
    these collide (SQLITE_BUSY at the first write, whatever the busy timeout)."""
    for n in range(ROUNDS):
        async with store.transaction() as tx:
            seen = (await tx.conn.execute(select(func.count()).select_from(interactions))).scalar()
            await tx.upsert_interaction(
                f"w{writer}-c{n}", queue="support", arrived_at=float(n), notes=f"saw {seen}"
            )
            previous, state = (S.LOGGED_OUT, S.READY) if n % 2 == 0 else (S.READY, S.LOGGED_OUT)
            await tx.record_agent_state(
                [AgentStateChanged(f"a{writer}", previous, state, "test")], float(n)
            )


async def test_concurrent_writers_on_one_sqlite_file(sqlite_url: str) -> None:
    stores = [await Store.open(sqlite_url) for _ in range(WRITERS)]
    try:
        batched = StoreWriter(stores[0], batch_size=7, flush_interval=0.001)
        batched.start()

        async def feed_writer() -> None:
            for n in range(200):
                batched.queue_log(QueueLog(float(n), f"q{n}", "support", "NONE", "ENTERQUEUE"))
                await asyncio.sleep(0)

        async def read_reports() -> None:
            for _ in range(20):
                await traffic(stores[1], 0.0, 1e6)
                await agent_occupancy(stores[2], 0.0, 1e6)

        await asyncio.gather(
            *(read_then_write(store, n) for n, store in enumerate(stores)),
            feed_writer(),
            read_reports(),
        )
        await batched.close()
        assert batched.stats.failed == 0

        check = stores[-1]
        assert len(await check.queue_log()) == 200
        async with check.reading() as conn:
            count = (await conn.execute(select(func.count()).select_from(interactions))).scalar()
        assert count == WRITERS * ROUNDS
        sessions = await check.agent_sessions()
        assert len(sessions) == WRITERS * ROUNDS // 2
        assert all(s.duration == 1.0 for s in sessions)
    finally:
        await asyncio.gather(*(store.close() for store in stores))
