"""Authenticity codes on both backends: import, first check, rate limit, races."""

from __future__ import annotations

import asyncio

from callcenter.store import Store
from callcenter.store.codes import (
    CheckResult,
    ProductCode,
    RateLimit,
    check_code,
    checks_since,
    get_code,
    import_codes,
)

NOW = 1_795_753_044.0


async def test_reimport_updates_the_product_and_keeps_the_first_check(store: Store) -> None:
    await import_codes(store, [ProductCode("111111", "Tea", "B1")], at=NOW)
    assert (await check_code(store, "111111", "5551", at=NOW + 1)).result is CheckResult.GENUINE
    assert await import_codes(store, [ProductCode("111111", "Green tea", "B2")], at=NOW + 2) == 1
    code = await get_code(store, "111111")
    assert code == ProductCode("111111", "Green tea", "B2", NOW + 1, "5551", 1)


async def test_import_in_batches_of_many_rows(store: Store) -> None:
    codes = (ProductCode(f"{n:08d}", "Tea") for n in range(1_234))
    assert await import_codes(store, codes, at=NOW) == 1_234
    assert await get_code(store, "00001233") is not None


async def test_two_callers_checking_one_code_at_once_get_one_genuine(store: Store) -> None:
    await import_codes(store, [ProductCode("222222")], at=NOW)
    results = await asyncio.gather(
        *(check_code(store, "222222", f"55{n}", at=NOW + n) for n in range(4))
    )
    assert sorted(r.result for r in results) == [
        CheckResult.ALREADY_CHECKED,
        CheckResult.ALREADY_CHECKED,
        CheckResult.ALREADY_CHECKED,
        CheckResult.GENUINE,
    ]
    code = await get_code(store, "222222")
    assert code is not None
    assert code.check_count == 4


async def test_rate_limit_counts_per_number_within_the_window(store: Store) -> None:
    limit = RateLimit(attempts=2, window=60.0)
    for at in (NOW, NOW + 10):
        assert (await check_code(store, "x", "5551", at=at, limit=limit)).result == "unknown"
    limited = await check_code(store, "x", "5551", at=NOW + 20, limit=limit)
    assert limited.result is CheckResult.LIMITED
    assert limited.retry_after == 40.0
    assert await checks_since(store, "5551", NOW - 60) == 2  # refusals are not counted
    assert (await check_code(store, "x", "5552", at=NOW + 20, limit=limit)).result == "unknown"
    assert (await check_code(store, "x", "5551", at=NOW + 61, limit=limit)).result == "unknown"


async def test_hostile_code_text_is_only_a_value(store: Store) -> None:
    hostile = "1'; DROP TABLE product_codes; --"
    await import_codes(store, [ProductCode(hostile, "x")], at=NOW)
    assert (await check_code(store, hostile, hostile, at=NOW)).result is CheckResult.GENUINE
    assert (await get_code(store, hostile)) is not None


async def test_concurrent_checks_from_one_number_respect_the_limit(store: Store) -> None:
    limit = RateLimit(attempts=2, window=60.0)
    results = await asyncio.gather(
        *(check_code(store, "x", "5551", at=NOW + n / 10, limit=limit) for n in range(6))
    )
    assert sorted(r.result for r in results).count(CheckResult.LIMITED) == 4
