"""Outages: declared by an admin for a supply area, announced to callers from that area.

An outage is announced from ``starts_at`` until it is ended (``callcenter outage end``);
one that overruns its expected end is still announced: the power is still off. Outages
are graded by the households affected (:func:`grade`), the measure the utility's
major-outage rules use; the most severe active outage of an area is the one announced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping

from callcenter.store.schema import outages
from callcenter.store.store import Store

#: Households affected from which an outage has grade 1, 2, 3 (else 4).
GRADE_THRESHOLDS = (100_000, 10_000, 1_000)
_PROMPT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_/-]{0,79}")
GRADE_NAMES = {1: "critical", 2: "major", 3: "serious", 4: "general"}


def grade(households: int | None) -> int:
    """1 (most severe) to 4 by households affected; 4 when not known."""
    for level, threshold in enumerate(GRADE_THRESHOLDS, start=1):
        if households is not None and households >= threshold:
            return level
    return 4


@dataclass(frozen=True, slots=True)
class Outage:
    id: int
    area: str
    starts_at: float
    notice: str
    grade: int
    declared_at: float
    expected_end_at: float | None = None
    ended_at: float | None = None
    prompt: str | None = None
    households: int | None = None

    def active_at(self, now: float) -> bool:
        return self.starts_at <= now and (self.ended_at is None or now < self.ended_at)


async def declare_outage(
    store: Store,
    area: str,
    *,
    starts_at: float,
    notice: str,
    at: float,
    expected_end_at: float | None = None,
    households: int | None = None,
    prompt: str | None = None,
) -> Outage:
    if expected_end_at is not None and expected_end_at <= starts_at:
        raise ValueError("the expected end must come after the start")
    if households is not None and households < 0:
        raise ValueError("households cannot be negative")
    if prompt is not None and not _PROMPT.fullmatch(prompt):
        raise ValueError(f"{prompt!r} is not a sound name (letters, digits, _ - /)")
    if not notice.strip():
        raise ValueError("the notice text is empty")
    values: dict[str, Any] = {
        "area": area,
        "starts_at": starts_at,
        "expected_end_at": expected_end_at,
        "notice": notice,
        "prompt": prompt,
        "households": households,
        "grade": grade(households),
        "declared_at": at,
    }
    async with store.transaction() as tx:
        result = await tx.conn.execute(insert(outages).values(**values))
        key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the database returned no id for the new outage")
    return Outage(id=int(key[0]), **values)


async def end_outage(store: Store, outage_id: int, *, at: float) -> bool:
    """End an outage that is not ended yet; False when there is none such."""
    async with store.transaction() as tx:
        result = await tx.conn.execute(
            update(outages)
            .where(outages.c.id == outage_id, outages.c.ended_at.is_(None))
            .values(ended_at=at)
        )
    return bool(result.rowcount)


async def active_outages(store: Store, now: float, area: str | None = None) -> list[Outage]:
    """Outages started and not ended at ``now`` (in ``area`` if given), most severe first."""
    stmt = (
        select(outages)
        .where(outages.c.starts_at <= now, outages.c.ended_at.is_(None))
        .order_by(outages.c.grade, outages.c.starts_at.desc(), outages.c.id)
    )
    if area is not None:
        stmt = stmt.where(outages.c.area == area)
    async with store.reading() as conn:
        rows = await conn.execute(stmt)
    return [_outage(row._mapping) for row in rows]


async def all_outages(store: Store, *, since: float | None = None) -> list[Outage]:
    """Every outage (declared since ``since``), newest first."""
    stmt = select(outages).order_by(outages.c.starts_at.desc(), outages.c.id.desc())
    if since is not None:
        stmt = stmt.where(outages.c.starts_at >= since)
    async with store.reading() as conn:
        rows = await conn.execute(stmt)
    return [_outage(row._mapping) for row in rows]


def _outage(row: RowMapping) -> Outage:
    return Outage(**dict(row))
