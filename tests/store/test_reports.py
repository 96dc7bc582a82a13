"""Report figures from a hand-built morning, checked against numbers worked out by hand.

The morning (times in seconds from midnight D; slots of 30 minutes from 09:00):

call  dnis  queue    enqueued  answered/ended   hold  wrap  outcome      notes
c1    4001  support  09:00:10  +10 / +210        20    30   answered     talk 180, survey 5
c2    4001  support  09:01:45  +30 / +330         0     0   answered     talk_time 280, survey 3
c3    4002  support  09:03:30   - / +3            -     -   abandoned    short (3 s)
c4    4001  support  09:10:00   - / +40           -     -   abandoned    after threshold
c5    4002  support  09:11:50   - / +15           -     -   abandoned    before threshold
c6    4002  (IVR only, arrived 09:28:20, never queued)         self_service survey 4
c7    4001  support  09:30:05  +5 / +305         60    60   answered     arrived 09:29:50, survey 4
c8    4001  support  09:40:10   - / +90           -     -   overflowed
c9    4002  support  09:50:02  +20 / +120         0    20   answered     exactly at the threshold
c10   4003  sales    09:51:45  +5 / +105          0     0   answered
old   4001  support  the day before                         answered     outside the period
"""

from __future__ import annotations

import pytest

from callcenter.core.commands import AgentStateChanged
from callcenter.core.states import AgentState as S
from callcenter.store import Store
from callcenter.store.reports import ServiceLevelRule, agent_occupancy, traffic

D = 1_795_737_600.0  # a midnight, UTC
NINE = D + 9 * 3600
START, END = NINE, NINE + 3600
RULE = ServiceLevelRule(threshold=20.0, short_abandon=5.0, exclude_short_abandons=True)

CAMPAIGN = {"4001": "tv", "4002": "radio", "4003": "web"}


async def load_morning(store: Store) -> None:
    def call(call_id: str, dnis: str, arrived: float, **fields: object) -> dict[str, object]:
        return {
            "call_id": call_id,
            "dnis": dnis,
            "campaign": CAMPAIGN[dnis],
            "arrived_at": NINE + arrived,
            **fields,
        }

    t = NINE
    calls = [
        call(
            "c1",
            "4001",
            0,
            queue="support",
            enqueued_at=t + 10,
            answered_at=t + 20,
            ended_at=t + 220,
            hold_time=20.0,
            wrapup_ended_at=t + 250,
            outcome="answered",
            survey_score=5,
            agent="1001",
        ),
        call(
            "c2",
            "4001",
            100,
            queue="support",
            enqueued_at=t + 105,
            answered_at=t + 135,
            ended_at=t + 435,
            talk_time=280.0,
            outcome="answered",
            survey_score=3,
            agent="1002",
        ),
        call(
            "c3",
            "4002",
            200,
            queue="support",
            enqueued_at=t + 210,
            ended_at=t + 213,
            outcome="abandoned",
        ),
        call(
            "c4",
            "4001",
            600,
            queue="support",
            enqueued_at=t + 600,
            ended_at=t + 640,
            outcome="abandoned",
        ),
        call(
            "c5",
            "4002",
            700,
            queue="support",
            enqueued_at=t + 710,
            ended_at=t + 725,
            outcome="abandoned",
        ),
        call("c6", "4002", 1700, ended_at=t + 1760, outcome="self_service", survey_score=4),
        call(
            "c7",
            "4001",
            1790,
            queue="support",
            enqueued_at=t + 1805,
            answered_at=t + 1810,
            ended_at=t + 2110,
            hold_time=60.0,
            wrapup_ended_at=t + 2170,
            outcome="answered",
            survey_score=4,
            agent="1001",
        ),
        call(
            "c8",
            "4001",
            2400,
            queue="support",
            enqueued_at=t + 2410,
            ended_at=t + 2500,
            outcome="overflowed",
        ),
        call(
            "c9",
            "4002",
            3000,
            queue="support",
            enqueued_at=t + 3002,
            answered_at=t + 3022,
            ended_at=t + 3122,
            wrapup_ended_at=t + 3142,
            outcome="answered",
            agent="1002",
        ),
        call(
            "c10",
            "4003",
            3100,
            queue="sales",
            enqueued_at=t + 3105,
            answered_at=t + 3110,
            ended_at=t + 3210,
            outcome="answered",
            agent="1001",
        ),
        call(
            "old",
            "4001",
            -86400,
            queue="support",
            enqueued_at=t - 86390,
            answered_at=t - 86380,
            ended_at=t - 86000,
            outcome="answered",
            survey_score=1,
        ),
    ]
    async with store.transaction() as tx:
        for fields in calls:
            call_id = str(fields.pop("call_id"))
            await tx.upsert_interaction(call_id, **fields)  # type: ignore[arg-type]


async def test_service_level_and_handle_times_per_queue_for_the_hour(store: Store) -> None:
    await load_morning(store)
    sales, support = await traffic(store, START, END, by="queue", rule=RULE)  # sorted by key
    assert (support.key, support.slot_start) == ("support", None)
    assert (support.offered, support.answered, support.answered_within_sl) == (8, 4, 3)
    assert (support.abandoned, support.short_abandoned, support.abandoned_after_sl) == (2, 1, 1)
    assert support.service_level == pytest.approx(60.0)  # 3 / (4 + 1)
    assert support.abandonment == pytest.approx(100 * 2 / 7)  # 2 / (8 - 1 short)
    assert support.asa == pytest.approx(16.25)  # (10 + 30 + 5 + 20) / 4
    assert support.handled == 4
    assert support.total_handle_time == pytest.approx(990.0)  # 230 + 280 + 360 + 120
    assert support.aht == pytest.approx(247.5)
    assert support.average_talk == pytest.approx(200.0)  # (180 + 280 + 240 + 100) / 4
    assert support.average_hold == pytest.approx(20.0)  # (20 + 0 + 60 + 0) / 4
    assert support.average_wrapup == pytest.approx(27.5)  # (30 + 0 + 60 + 20) / 4
    assert support.longest_wait == pytest.approx(90.0)  # c8, overflowed
    assert support.satisfaction == pytest.approx(4.0)  # (5 + 3 + 4) / 3
    assert (sales.key, sales.offered, sales.answered, sales.service_level) == ("sales", 1, 1, 100.0)
    assert (sales.abandonment, sales.satisfaction) == (0.0, None)


async def test_half_hour_slots_per_queue(store: Store) -> None:
    await load_morning(store)
    rows = await traffic(store, START, END, by="queue", slot=1800, rule=RULE)
    assert [(r.key, r.slot_start) for r in rows] == [
        ("sales", NINE + 1800),
        ("support", NINE),
        ("support", NINE + 1800),
    ]
    early, late = rows[1], rows[2]
    assert (early.offered, early.answered, early.answered_within_sl, early.abandoned) == (
        5,
        2,
        1,
        2,
    )
    assert early.service_level == pytest.approx(100 / 3)  # 1 / (2 + 1)
    assert early.abandonment == pytest.approx(50.0)  # 2 / (5 - 1)
    assert (early.asa, early.aht, early.longest_wait) == (20.0, 255.0, 40.0)
    assert (late.offered, late.answered, late.answered_within_sl, late.abandoned) == (3, 2, 2, 0)
    assert (late.service_level, late.abandonment) == (100.0, 0.0)
    assert (late.asa, late.aht, late.longest_wait) == (12.5, 240.0, 90.0)


async def test_short_abandons_count_when_not_excluded(store: Store) -> None:
    await load_morning(store)
    rule = ServiceLevelRule(threshold=20.0, short_abandon=5.0, exclude_short_abandons=False)
    support = next(r for r in await traffic(store, START, END, rule=rule) if r.key == "support")
    assert (support.abandoned, support.abandoned_after_sl) == (3, 1)
    assert support.abandonment == pytest.approx(100 * 3 / 8)
    assert support.service_level == pytest.approx(60.0)  # c3 gave up before the threshold


async def test_calls_per_dialed_number_per_half_hour(store: Store) -> None:
    await load_morning(store)
    rows = await traffic(store, START, END, by="dnis", slot=1800, rule=RULE)
    counts = {
        (r.key, r.slot_start - NINE if r.slot_start is not None else None): (
            r.arrived,
            r.offered,
            r.answered,
        )
        for r in rows
    }
    assert counts == {
        ("4001", 0.0): (4, 4, 3),  # c1 c2 c4 c7 (c7 arrived 09:29:50)
        ("4001", 1800.0): (1, 1, 0),  # c8
        ("4002", 0.0): (3, 2, 0),  # c3 c5, and c6 that stayed in the IVR
        ("4002", 1800.0): (1, 1, 1),  # c9
        ("4003", 1800.0): (1, 1, 1),  # c10
    }


async def test_calls_per_campaign_for_the_hour(store: Store) -> None:
    await load_morning(store)
    rows = await traffic(store, START, END, by="campaign", rule=RULE)
    assert [(r.key, r.arrived, r.satisfaction) for r in rows] == [
        ("radio", 4, 4.0),
        ("tv", 5, 4.0),
        ("web", 1, None),
    ]


async def test_all_calls_together(store: Store) -> None:
    await load_morning(store)
    [everything] = await traffic(store, START, END, by=None, rule=RULE)
    assert (everything.key, everything.offered, everything.answered) == (None, 9, 5)


async def test_an_empty_period_has_no_rows(store: Store) -> None:
    await load_morning(store)
    assert await traffic(store, END + 3600, END + 7200) == []


def moves(agent: str, *steps: tuple[float, S, S]) -> list[tuple[float, AgentStateChanged]]:
    return [(NINE + at, AgentStateChanged(agent, old, new, "test")) for at, old, new in steps]


async def test_occupancy_from_agent_state_changes(store: Store) -> None:
    changes = [
        # 1001: logged in before nine (ready at the start of the period), two calls
        # with wrap-up, a lunch pause, one call without wrap-up, logs out at 09:55.
        *moves(
            "1001",
            (-400, S.LOGGED_OUT, S.READY),
            (15, S.READY, S.RINGING),
            (20, S.RINGING, S.ON_CALL),
            (220, S.ON_CALL, S.WRAP_UP),
            (250, S.WRAP_UP, S.READY),
            (800, S.READY, S.PAUSED),
            (1600, S.PAUSED, S.READY),
            (1805, S.READY, S.RINGING),
            (1810, S.RINGING, S.ON_CALL),
            (2110, S.ON_CALL, S.WRAP_UP),
            (2170, S.WRAP_UP, S.READY),
            (3105, S.READY, S.RINGING),
            (3110, S.RINGING, S.ON_CALL),
            (3210, S.ON_CALL, S.READY),
            (3300, S.READY, S.LOGGED_OUT),
        ),
        # 1002: logs in at 09:01:40 and stays.
        *moves(
            "1002",
            (100, S.LOGGED_OUT, S.READY),
            (130, S.READY, S.RINGING),
            (135, S.RINGING, S.ON_CALL),
            (435, S.ON_CALL, S.READY),
            (3017, S.READY, S.RINGING),
            (3022, S.RINGING, S.ON_CALL),
            (3122, S.ON_CALL, S.WRAP_UP),
            (3142, S.WRAP_UP, S.READY),
        ),
        # 1003: worked only before nine.
        *moves("1003", (-3600, S.LOGGED_OUT, S.READY), (-1800, S.READY, S.LOGGED_OUT)),
    ]
    for at, change in sorted(changes, key=lambda pair: pair[0]):
        await store.record_agent_state([change], at)

    first, second = await agent_occupancy(store, START, END)
    assert first.agent == "1001"
    assert first.seconds == pytest.approx(
        {
            S.READY: 1795.0,
            S.RINGING: 15.0,
            S.ON_CALL: 600.0,
            S.WRAP_UP: 90.0,
            S.PAUSED: 800.0,
            S.LOGGED_OUT: 300.0,
        }
    )
    assert (first.logged_in, first.available, first.handling) == (3300.0, 2500.0, 690.0)
    assert first.occupancy == pytest.approx(690 / 2500)
    assert second.agent == "1002"
    assert second.seconds == pytest.approx(
        {
            S.LOGGED_OUT: 100.0,
            S.READY: 3070.0,
            S.RINGING: 10.0,
            S.ON_CALL: 400.0,
            S.WRAP_UP: 20.0,
        }
    )
    assert second.occupancy == pytest.approx(420 / 3500)
