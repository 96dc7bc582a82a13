"""Product authenticity codes: the imported table and the checks callers make.

A check is one transaction: count the caller's recent checks (the rate limit), record this
one, then look the code up and, on its first check, keep when and by which number. The
first check is claimed with ``UPDATE ... WHERE first_checked_at IS NULL``, so of two
callers keying the same code at the same moment exactly one hears "genuine".

Everything reaches the database as a bound parameter; codes and numbers come from callers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.store.schema import code_checks, product_codes
from callcenter.store.store import Store

#: Rows per INSERT statement when importing (well under SQLite's bound-parameter limit).
IMPORT_BATCH = 500


class CheckResult(StrEnum):
    GENUINE = "genuine"  # known, and this is its first check
    ALREADY_CHECKED = "already_checked"  # known, checked before: the label may be a copy
    UNKNOWN = "unknown"  # not in the table: not ours
    LIMITED = "limited"  # too many checks from this number lately; not looked up


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``attempts`` checks per caller number within ``window`` seconds."""

    attempts: int = 5
    window: float = 600.0


@dataclass(frozen=True, slots=True)
class ProductCode:
    code: str
    product: str = ""
    batch: str = ""
    first_checked_at: float | None = None
    first_checked_by: str | None = None
    check_count: int = 0


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """What one check found; ``code`` is the row as it was before this check."""

    result: CheckResult
    code: ProductCode | None = None
    retry_after: float = 0.0
    """For ``LIMITED``: seconds until the oldest counted check leaves the window."""


def upsert(conn: AsyncConnection, table: Any) -> Any:
    """INSERT with ``ON CONFLICT`` (the same API in both dialects)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def check_code(
    store: Store, code: str, caller_number: str, *, at: float, limit: RateLimit = RateLimit()
) -> CodeCheck:
    """Check ``code`` for ``caller_number`` at time ``at`` (see the module docstring)."""
    async with store.transaction() as tx:
        conn = tx.conn
        if conn.dialect.name == "postgresql":
            # READ COMMITTED would let two checks from one number both count the same
            # recent rows and both pass; SQLite's BEGIN IMMEDIATE serialises them already.
            lock = func.pg_advisory_xact_lock(func.hashtext(caller_number))
            await conn.execute(select(lock))
        since = at - limit.window
        recent = (
            await conn.execute(
                select(func.count(), func.min(code_checks.c.at)).where(
                    code_checks.c.caller_number == caller_number, code_checks.c.at > since
                )
            )
        ).one()
        if recent[0] >= limit.attempts:
            oldest = recent[1] if recent[1] is not None else at
            return CodeCheck(CheckResult.LIMITED, retry_after=max(0.0, oldest - since))
        row = (
            await conn.execute(select(product_codes).where(product_codes.c.code == code))
        ).first()
        found = None if row is None else _code(row._mapping)
        if found is None:
            result = CheckResult.UNKNOWN
        else:
            claimed = await conn.execute(
                update(product_codes)
                .where(product_codes.c.code == code, product_codes.c.first_checked_at.is_(None))
                .values(first_checked_at=at, first_checked_by=caller_number)
            )
            result = CheckResult.GENUINE if claimed.rowcount else CheckResult.ALREADY_CHECKED
            await conn.execute(
                update(product_codes)
                .where(product_codes.c.code == code)
                .values(check_count=product_codes.c.check_count + 1)
            )
            if result is CheckResult.ALREADY_CHECKED and found.first_checked_at is None:
                # Claimed by a concurrent check after our read: report that one.
                again = (
                    await conn.execute(select(product_codes).where(product_codes.c.code == code))
                ).one()
                found = _code(again._mapping)
        await conn.execute(
            insert(code_checks).values(
                caller_number=caller_number, at=at, code=code, result=str(result)
            )
        )
    return CodeCheck(result, found)


async def checks_since(store: Store, caller_number: str, since: float) -> int:
    """How many checks ``caller_number`` made after ``since`` (for refusing up front)."""
    async with store.reading() as conn:
        found = await conn.execute(
            select(func.count()).where(
                code_checks.c.caller_number == caller_number, code_checks.c.at > since
            )
        )
        return int(found.scalar() or 0)


async def get_code(store: Store, code: str) -> ProductCode | None:
    async with store.reading() as conn:
        row = (
            await conn.execute(select(product_codes).where(product_codes.c.code == code))
        ).first()
    return None if row is None else _code(row._mapping)


async def import_codes(store: Store, codes: Iterable[ProductCode], *, at: float) -> int:
    """Insert or update ``codes`` in batches; a re-import keeps the first-check record."""
    count = 0
    for batch in batches(codes):
        async with store.transaction() as tx:
            stmt = upsert(tx.conn, product_codes)
            stmt = stmt.on_conflict_do_update(
                index_elements=["code"],
                set_={"product": stmt.excluded.product, "batch": stmt.excluded.batch},
            )
            await tx.conn.execute(
                stmt,
                [
                    {"code": c.code, "product": c.product, "batch": c.batch, "imported_at": at}
                    for c in batch
                ],
            )
        count += len(batch)
    return count


def batches(items: Iterable[Any], size: int = IMPORT_BATCH) -> Iterable[Sequence[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _code(row: Any) -> ProductCode:
    return ProductCode(
        code=row["code"],
        product=row["product"],
        batch=row["batch"],
        first_checked_at=row["first_checked_at"],
        first_checked_by=row["first_checked_by"],
        check_count=row["check_count"],
    )
