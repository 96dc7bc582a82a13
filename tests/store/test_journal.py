"""The journal turns the core's decisions into rows, and the reports read back the same numbers.

A simulated morning of the sample configuration runs through the real routing
core with the journal writing to the store; the report figures computed from the
store alone must equal the core's own live counters, queue by queue.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from callcenter.config import load_config
from callcenter.demo import Demo, Traffic
from callcenter.store import Store, StoreWriter
from callcenter.store.journal import Journal
from callcenter.store.reports import ServiceLevelRule, traffic
from callcenter.store.schema import interaction_legs

SAMPLES = Path(__file__).resolve().parents[2] / "queues"


async def test_reports_from_the_store_match_the_cores_counters(store: Store) -> None:
    spec = load_config(SAMPLES).routing_spec()
    async with StoreWriter(store) as writer:
        demo = Demo(spec, Traffic(hours=1.0, calls_per_hour=60), seed=5, journal=Journal(writer))
        demo.run()
    assert writer.stats.dropped == 0
    checked = 0
    for name, queue in spec.queues.items():
        live = demo.router.stats(name)
        rule = ServiceLevelRule(threshold=queue.service_level, exclude_short_abandons=False)
        rows = await traffic(store, 0.0, 10 * 3600.0, by="queue", rule=rule)
        row = next(r for r in rows if r.key == name)
        assert (row.offered, row.answered, row.abandoned) == (
            live.offered, live.answered, live.abandoned,
        ), name  # fmt: skip
        assert row.answered_within_sl == live.answered_in_service_level, name
        assert row.abandoned_after_sl == live.abandoned - live.abandoned_in_service_level, name
        assert row.total_wait_answered == pytest.approx(live.total_wait_answered), name
        assert row.handled == live.completed, name
        assert row.total_talk == pytest.approx(live.total_talk), name
        checked += live.offered
    assert checked > 300  # a real morning, not an empty one


async def test_every_ring_becomes_a_leg_with_its_result(store: Store) -> None:
    spec = load_config(SAMPLES).routing_spec()
    async with StoreWriter(store) as writer:
        demo = Demo(spec, Traffic(hours=0.5, calls_per_hour=60, no_answer=0.2), seed=9,
                    journal=Journal(writer))  # fmt: skip
        demo.run()
    async with store.reading() as connection:
        results: dict[str, int] = dict(
            (await connection.execute(
                select(interaction_legs.c.result, func.count()).group_by(interaction_legs.c.result)
            )).all()
        )  # fmt: skip
    answered = sum(demo.router.stats(name).answered for name in spec.queues)
    assert results["answered"] == answered
    assert results["no_answer"] > 0  # one ring in five rings out in this run
