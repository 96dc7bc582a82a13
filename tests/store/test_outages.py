"""Outages on both backends: grading, declaring, ending, what is active when."""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.store import Store
from callcenter.store.accounts import Account, accounts_of_customer, get_account, import_accounts
from callcenter.store.outages import (
    active_outages,
    all_outages,
    declare_outage,
    end_outage,
    grade,
)

NOW = 1_795_753_044.0


@pytest.mark.parametrize(
    ("households", "level"),
    [(None, 4), (0, 4), (999, 4), (1_000, 3), (10_000, 2), (99_999, 2), (100_000, 1)],
)
def test_grade_by_households(households: int | None, level: int) -> None:
    assert grade(households) == level


async def test_active_from_start_until_ended_most_severe_first(store: Store) -> None:
    small = await declare_outage(store, "021", starts_at=NOW, notice="Feeder 3", at=NOW)
    big = await declare_outage(
        store, "021", starts_at=NOW + 10, notice="Substation", at=NOW, households=20_000,
        expected_end_at=NOW + 3600,
    )  # fmt: skip
    await declare_outage(store, "010", starts_at=NOW, notice="Elsewhere", at=NOW)
    assert await active_outages(store, NOW - 1, "021") == []
    assert [o.id for o in await active_outages(store, NOW + 5, "021")] == [small.id]
    assert [o.id for o in await active_outages(store, NOW + 20, "021")] == [big.id, small.id]
    # Past its expected end but not ended: still announced.
    assert big in await active_outages(store, NOW + 7200, "021")
    assert await end_outage(store, big.id, at=NOW + 7300)
    assert not await end_outage(store, big.id, at=NOW + 7400)  # ended once only
    assert [o.id for o in await active_outages(store, NOW + 7500, "021")] == [small.id]
    assert len(await active_outages(store, NOW + 7500)) == 2
    assert (await all_outages(store))[0].id == big.id


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expected_end_at": NOW - 1}, "after the start"),
        ({"households": -1}, "negative"),
        ({"prompt": "../../etc/passwd"}, "not a sound name"),
        ({"notice": " "}, "empty"),
    ],
)
async def test_bad_declarations_are_refused(
    store: Store, kwargs: dict[str, Any], message: str
) -> None:
    values = {"starts_at": NOW, "notice": "x", "at": NOW, **kwargs}
    with pytest.raises(ValueError, match=message):
        await declare_outage(store, "021", **values)


async def test_hostile_text_is_stored_literally(store: Store) -> None:
    hostile = "x'); DROP TABLE outages; --"
    await declare_outage(store, hostile, starts_at=NOW, notice=hostile, at=NOW)
    [found] = await active_outages(store, NOW, hostile)
    assert found.notice == hostile
    assert await get_account(store, hostile) is None
    assert await accounts_of_customer(store, hostile) == []


async def test_accounts_of_a_customer(store: Store) -> None:
    await import_accounts(
        store, [Account("1002", "5551", area="021"), Account("1001", "5551")], at=NOW
    )
    assert [a.number for a in await accounts_of_customer(store, "5551")] == ["1001", "1002"]
