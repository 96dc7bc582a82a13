"""Persistence: interactions, queue_log, agent states and customers (SQLAlchemy Core, async).

SQLite (aiosqlite, WAL) by default, PostgreSQL (asyncpg) by URL. The engine
writes through :class:`StoreWriter` (batched, never blocking routing); reports
read with :mod:`callcenter.store.reports`.
"""

from callcenter.store.engine import UnsupportedDatabaseError, create_engine, database_url
from callcenter.store.migrations import LATEST as SCHEMA_VERSION
from callcenter.store.migrations import SchemaTooNewError
from callcenter.store.queue_log import (
    QueueLogFile,
    Verb,
    asterisk_member_name,
    format_line,
    member_names,
    parse_line,
)
from callcenter.store.records import (
    AgentSession,
    AgentStateRecord,
    Customer,
    CustomerNote,
    Interaction,
    InteractionFields,
    Leg,
    LegResult,
    Outcome,
)
from callcenter.store.reports import (
    AgentTime,
    ServiceLevelRule,
    TrafficFigures,
    agent_occupancy,
    traffic,
)
from callcenter.store.store import Store
from callcenter.store.transaction import StoreTransaction
from callcenter.store.writer import StoreWriter, WriterStats

__all__ = [
    "SCHEMA_VERSION",
    "AgentSession",
    "AgentStateRecord",
    "AgentTime",
    "Customer",
    "CustomerNote",
    "Interaction",
    "InteractionFields",
    "Leg",
    "LegResult",
    "Outcome",
    "QueueLogFile",
    "SchemaTooNewError",
    "ServiceLevelRule",
    "Store",
    "StoreTransaction",
    "StoreWriter",
    "TrafficFigures",
    "UnsupportedDatabaseError",
    "Verb",
    "WriterStats",
    "agent_occupancy",
    "asterisk_member_name",
    "create_engine",
    "database_url",
    "format_line",
    "member_names",
    "parse_line",
    "traffic",
]
