"""The store queries the scripts make, as few round trips as one answer needs.

Everything reaches the database as a bound parameter (SQLAlchemy Core); the caller
number comes from the carrier and is never part of the SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from callcenter.store import Store
from callcenter.store.schema import customer_tags, customers, interactions


@dataclass(frozen=True, slots=True)
class CallerProfile:
    """What the dialplan and the engine learn about a caller before routing."""

    number: str
    name: str
    vip: bool
    language: str
    tags: tuple[str, ...]
    last_agent: str


async def caller_profile(store: Store, number: str) -> CallerProfile | None:
    """The customer behind ``number`` with the agent who last answered them; None if unknown.

    One statement (a row per tag, the last agent as a scalar subquery): each round trip
    through the async driver costs more than the query itself.
    """
    last_agent = (
        select(interactions.c.agent)
        .where(
            interactions.c.caller_number == customers.c.number, interactions.c.agent.is_not(None)
        )
        .order_by(interactions.c.arrived_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    with_tags = customers.outerjoin(customer_tags, customer_tags.c.number == customers.c.number)
    stmt = (
        select(customers.c.name, customers.c.vip, customers.c.language, customer_tags.c.tag,
               last_agent.label("last_agent"))
        .select_from(with_tags)
        .where(customers.c.number == number)
        .order_by(customer_tags.c.tag)
    )  # fmt: skip
    async with store.reading() as conn:
        rows = (await conn.execute(stmt)).all()
    if not rows:
        return None
    first = rows[0]
    return CallerProfile(
        number=number,
        name=first.name or "",
        vip=bool(first.vip),
        language=first.language or "",
        tags=tuple(row.tag for row in rows if row.tag is not None),
        last_agent=first.last_agent or "",
    )
