"""Accounts: the balance and order status a caller may hear by keying the account number.

Imported from CSV (``callcenter import accounts FILE``); read by ``account_lookup`` and,
for the supply area, by ``outage_notice``. Every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from callcenter.store.codes import batches, upsert
from callcenter.store.schema import accounts
from callcenter.store.store import Store


@dataclass(frozen=True, slots=True)
class Account:
    number: str
    customer_number: str | None = None
    holder: str = ""
    balance_cents: int | None = None
    order_status: str | None = None
    area: str | None = None


async def get_account(store: Store, number: str) -> Account | None:
    async with store.reading() as conn:
        row = (await conn.execute(select(accounts).where(accounts.c.number == number))).first()
    return None if row is None else _account(row._mapping)


async def accounts_of_customer(store: Store, customer_number: str) -> list[Account]:
    """The accounts whose customer calls from ``customer_number``, by account number."""
    async with store.reading() as conn:
        rows = await conn.execute(
            select(accounts)
            .where(accounts.c.customer_number == customer_number)
            .order_by(accounts.c.number)
        )
    return [_account(row._mapping) for row in rows]


async def import_accounts(store: Store, rows: Iterable[Account], *, at: float) -> int:
    """Insert or replace ``rows`` by account number, in batches."""
    count = 0
    for batch in batches(rows):
        async with store.transaction() as tx:
            stmt = upsert(tx.conn, accounts)
            columns = ("customer_number", "holder", "balance_cents", "order_status", "area")
            stmt = stmt.on_conflict_do_update(
                index_elements=["number"],
                set_={name: stmt.excluded[name] for name in (*columns, "updated_at")},
            )
            await tx.conn.execute(
                stmt,
                [
                    {
                        "number": a.number,
                        "customer_number": a.customer_number,
                        "holder": a.holder,
                        "balance_cents": a.balance_cents,
                        "order_status": a.order_status,
                        "area": a.area,
                        "updated_at": at,
                    }
                    for a in batch
                ],
            )
        count += len(batch)
    return count


def _account(row: Any) -> Account:
    return Account(
        number=row["number"],
        customer_number=row["customer_number"],
        holder=row["holder"],
        balance_cents=row["balance_cents"],
        order_status=row["order_status"],
        area=row["area"],
    )
