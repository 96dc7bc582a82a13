"""The store queries the scripts make, as few round trips as one answer needs.

Everything reaches the database as a bound parameter (SQLAlchemy Core); the caller
number comes from the carrier and is never part of the SQL text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.dialects import sqlite

from callcenter.store import Store
from callcenter.store.schema import customer_tags, customers, interactions
from callcenter.store.sqlite_reader import sqlite_reader


@dataclass(frozen=True, slots=True)
class CallerProfile:
    """What the dialplan and the engine learn about a caller before routing."""

    number: str
    name: str
    vip: bool
    language: str
    tags: tuple[str, ...]
    last_agent: str


def _profile_statement() -> Select[Any]:
    """The customer, a row per tag, and the agent who last answered them (a scalar subquery)."""
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
    return (
        select(customers.c.name, customers.c.vip, customers.c.language, customer_tags.c.tag,
               last_agent.label("last_agent"))
        .select_from(with_tags)
        .where(customers.c.number == bindparam("number"))
        .order_by(customer_tags.c.tag)
    )  # fmt: skip


_PROFILE = _profile_statement()
_PROFILE_SQLITE = _PROFILE.compile(dialect=sqlite.dialect())
_PROFILE_SQL = str(_PROFILE_SQLITE)
# The statement's positional parameters with the number left out: built once, so a lookup
# only drops the number in (SQLAlchemy's construct_params costs more than the query).
_PROFILE_PARAMS = _PROFILE_SQLITE.construct_params({"number": None})
_PROFILE_ORDER = tuple(_PROFILE_SQLITE.positiontup or ())


def _profile_params(number: str) -> tuple[Any, ...]:
    return tuple(number if name == "number" else _PROFILE_PARAMS[name] for name in _PROFILE_ORDER)


async def caller_profile(store: Store, number: str) -> CallerProfile | None:
    """The customer behind ``number`` with the agent who last answered them; None if unknown.

    One statement: each round trip through the async driver costs more than the query.
    """
    reader = sqlite_reader(store)
    if reader is not None:
        return read_caller_profile(reader, number)
    async with store.reading() as conn:
        return _profile(number, (await conn.execute(_PROFILE, {"number": number})).all())


def read_caller_profile(reader: sqlite3.Connection, number: str) -> CallerProfile | None:
    """:func:`caller_profile` straight on ``reader`` (see :func:`sqlite_reader`): no await."""
    # sqlite3 keeps the statement prepared (its cache is keyed by the SQL text).
    return _profile(number, reader.execute(_PROFILE_SQL, _profile_params(number)).fetchall())


def _profile(number: str, rows: Sequence[Sequence[Any]]) -> CallerProfile | None:
    if not rows:
        return None
    name, vip, language, _, last_agent = rows[0]
    return CallerProfile(
        number=number,
        name=name or "",
        vip=bool(vip),
        language=language or "",
        tags=tuple(row[3] for row in rows if row[3] is not None),
        last_agent=last_agent or "",
    )
