"""The tables, as SQLAlchemy Core ``Table`` objects (the latest schema version).

Time stamps are float seconds since the Unix epoch (UTC) in ``Double`` columns.
Why not ``DateTime(timezone=True)``: SQLite has no date type (SQLAlchemy stores
text there, PostgreSQL a ``timestamptz``), so durations and time slots would be
computed differently on each backend; epoch floats subtract exactly the same
way everywhere, they are what the engine's clock already gives (``Event.now``),
and a double still resolves well under a microsecond for present-day times.

Every string a caller can influence (names, notes, IVR paths, queue_log data)
is ``Text`` and only ever reaches the database as a bound parameter.
Identifiers (call ids, agent ids, queue names, numbers) are unbounded
``String`` (VARCHAR without a length), so PostgreSQL never truncates or refuses.

``migrations.py`` creates these tables; change a table only together with a new
migration step there.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    false,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY (a BIGINT one stays NULL).
RowId = BigInteger().with_variant(Integer(), "sqlite")


def _time(name: str, *, nullable: bool = True) -> Column[float]:
    return Column(name, Double(), nullable=nullable)


schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String, nullable=False),
    _time("applied_at", nullable=False),
)

interactions = Table(
    "interactions",
    metadata,
    Column("call_id", String, primary_key=True),
    Column("direction", String, nullable=False, server_default="inbound"),
    Column("caller_number", String),
    Column("caller_name", Text),
    Column("dnis", String),  # the number dialed
    Column("campaign", String),  # advertising channel / product line behind the DNIS
    Column("entry_point", String),
    Column("ivr_path", Text),  # menu choices taken, e.g. "main>2>1"
    Column("queue", String),  # last queue
    Column("first_queue", String),
    Column("agent", String),  # the agent who answered (last one after a transfer)
    _time("arrived_at"),
    _time("enqueued_at"),
    _time("offered_at"),  # first offer to an agent
    _time("answered_at"),
    _time("ended_at"),
    _time("wrapup_ended_at"),
    Column("hold_time", Double, nullable=False, server_default=text("0")),  # customer on hold
    Column("talk_time", Double),  # connected minus hold; NULL: derive from the time stamps
    Column("outcome", String),
    Column("disposition", String),
    Column("notes", Text),
    Column("survey_score", Integer),
    Column("recording_path", Text),
    Column("transfer_kind", String),  # blind / attended
    Column("transfer_target", Text),
    _time("transferred_at"),
    Index(None, "arrived_at"),
    Index(None, "enqueued_at"),
    Index(None, "queue", "enqueued_at"),
    Index(None, "caller_number", "arrived_at"),
    Index(None, "agent", "answered_at"),
)

interaction_legs = Table(
    "interaction_legs",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column(
        "call_id",
        String,
        ForeignKey("interactions.call_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("agent", String, nullable=False),
    Column("queue", String),
    _time("offered_at", nullable=False),
    _time("answered_at"),
    _time("ended_at"),
    Column("result", String, nullable=False),
    Index(None, "call_id"),
    Index(None, "agent", "offered_at"),
)

# Asterisk's realtime queue_log columns (contrib/ast-db-manage queue_log table:
# time, callid, queuename, agent, event, data1..data5) plus ``data`` (all data
# fields joined with "|", what Asterisk stores when queue_adaptive_realtime is
# off) and ``agent_id`` (our agent id; ``agent`` holds the member name as
# Asterisk would write it). ``time`` is epoch seconds like every time here.
queue_log = Table(
    "queue_log",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    _time("time", nullable=False),
    Column("callid", String, nullable=False),
    Column("queuename", String, nullable=False),
    Column("agent", String, nullable=False),
    Column("event", String, nullable=False),
    Column("data1", Text, nullable=False, server_default=""),
    Column("data2", Text, nullable=False, server_default=""),
    Column("data3", Text, nullable=False, server_default=""),
    Column("data4", Text, nullable=False, server_default=""),
    Column("data5", Text, nullable=False, server_default=""),
    Column("data", Text, nullable=False, server_default=""),
    Column("agent_id", String, nullable=False, server_default="NONE"),
    Index(None, "time"),
    Index(None, "callid"),
    Index(None, "queuename", "time"),
)

agent_sessions = Table(
    "agent_sessions",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("agent", String, nullable=False),
    _time("login_at", nullable=False),
    _time("logout_at"),
    Column("duration", Double),
    Index(None, "agent", "login_at"),
)
# At most one open session per agent.
Index(
    "uq_agent_sessions_open",
    agent_sessions.c.agent,
    unique=True,
    sqlite_where=agent_sessions.c.logout_at.is_(None),
    postgresql_where=agent_sessions.c.logout_at.is_(None),
)

agent_state_changes = Table(
    "agent_state_changes",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("agent", String, nullable=False),
    _time("time", nullable=False),
    Column("previous", String, nullable=False),
    Column("state", String, nullable=False),
    Column("cause", String, nullable=False, server_default=""),
    Column("reason", Text, nullable=False, server_default=""),  # pause reason
    Column("call_id", String, nullable=False, server_default=""),
    Index(None, "agent", "time"),
    Index(None, "time"),
)

customers = Table(
    "customers",
    metadata,
    Column("number", String, primary_key=True),
    Column("name", Text),
    Column("notes", Text),
    Column("vip", Boolean, nullable=False, server_default=false()),
    Column("language", String),
    _time("created_at", nullable=False),
    _time("updated_at", nullable=False),
)

customer_tags = Table(
    "customer_tags",
    metadata,
    Column("number", String, ForeignKey("customers.number", ondelete="CASCADE"), nullable=False),
    Column("tag", Text, nullable=False),
    PrimaryKeyConstraint("number", "tag"),
)

customer_notes = Table(
    "customer_notes",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("number", String, ForeignKey("customers.number", ondelete="CASCADE"), nullable=False),
    _time("at", nullable=False),
    Column("author", String, nullable=False, server_default=""),
    Column("text", Text, nullable=False),
    Index(None, "number", "at"),
)

# --- self-service (migration step 3): product authenticity codes ----------------------

# The codes printed on product labels, imported from the manufacturer's CSV. The first
# successful check is kept (when, by which number): a second check of the same code means
# the label was copied, which is what the caller is told.
product_codes = Table(
    "product_codes",
    metadata,
    Column("code", String, primary_key=True),
    Column("product", Text, nullable=False, server_default=""),
    Column("batch", String, nullable=False, server_default=""),
    _time("imported_at", nullable=False),
    _time("first_checked_at"),
    Column("first_checked_by", String),
    Column("check_count", Integer, nullable=False, server_default=text("0")),
)

# Every code a caller keyed in, for the per-caller rate limit and for tracing abuse.
code_checks = Table(
    "code_checks",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("caller_number", String, nullable=False),
    _time("at", nullable=False),
    Column("code", String, nullable=False),
    Column("result", String, nullable=False),
    Index(None, "caller_number", "at"),
)

# --- self-service (migration step 4): accounts for balance and order-status lookups -------

# A utility or shop account keyed by its number (what the caller keys in). ``balance`` is
# in cents (an integer: no float rounding in what callers are told); negative is arrears.
accounts = Table(
    "accounts",
    metadata,
    Column("number", String, primary_key=True),
    Column("customer_number", String),  # the customer's phone number, if known
    Column("holder", Text, nullable=False, server_default=""),
    Column("balance_cents", BigInteger),
    Column("order_status", String),  # e.g. shipped, processing; NULL: no open order
    Column("area", String),  # the supply area, for outage notices
    _time("updated_at", nullable=False),
    Index(None, "customer_number"),
)

# --- self-service (migration step 5): outages declared by admins ---------------------------

# An outage in one supply area (``callcenter outage declare``), announced by
# ``outage_notice`` to callers from that area while it lasts (until ``ended_at`` is set).
outages = Table(
    "outages",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("area", String, nullable=False),
    _time("starts_at", nullable=False),
    _time("expected_end_at"),
    _time("ended_at"),
    Column("notice", Text, nullable=False),  # what agents and the dialplan show
    Column("prompt", String),  # a recorded announcement; NULL: the generic one
    Column("households", Integer),
    Column("grade", Integer, nullable=False),  # 1 (most severe) .. 4
    _time("declared_at", nullable=False),
    Index(None, "area", "ended_at"),
)

# --- the agent's desk (migration step 6): complaint tickets, scheduled callbacks ----------

# A complaint (投诉工单): recorded by an agent during or after a call, handed to a
# department, followed up and closed. Every change is a ``ticket_events`` row (who, when,
# what), so the history is never rewritten; ``tickets`` holds the current status.
tickets = Table(
    "tickets",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("call_id", String),  # the interaction it came from, if any
    Column("customer", String),  # the customer's number, if known
    Column("department", String, nullable=False),
    Column("status", String, nullable=False),  # open, assigned, closed
    Column("assignee", String),  # who in the department has it, if anyone yet
    Column("summary", Text, nullable=False),  # the complaint in the agent's (or caller's) words
    Column("created_by", String, nullable=False),
    _time("created_at", nullable=False),
    _time("updated_at", nullable=False),
    _time("closed_at"),
    Index(None, "status", "department"),
    Index(None, "customer"),
    Index(None, "call_id"),
)

ticket_events = Table(
    "ticket_events",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("ticket_id", RowId, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    _time("at", nullable=False),
    Column("actor", String, nullable=False),  # agent id, supervisor or department user
    Column("action", String, nullable=False),  # create, assign, note, close, reopen
    Column("department", String),
    Column("assignee", String),
    Column("text", Text, nullable=False, server_default=""),
    Index(None, "ticket_id", "at"),
)

# A call back an agent promised a customer at a given time (not the queue's callback
# that keeps a waiting caller's place: that one lives in the routing core).
scheduled_callbacks = Table(
    "scheduled_callbacks",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("number", String, nullable=False),
    Column("call_id", String),  # the interaction that promised it
    Column("agent", String, nullable=False),  # who promised it (and calls back first)
    Column("queue", String),
    _time("due_at", nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
    Column("status", String, nullable=False),  # scheduled, done, cancelled
    _time("created_at", nullable=False),
    _time("done_at"),
    Index(None, "status", "due_at"),
    Index(None, "agent", "due_at"),
)

# A caller who chose the queue's callback keeps the place in line with no channel: the
# booking lives only in the engine, so it is kept here too, from the booking until an
# agent takes it or it leaves the line, for a restarted engine to put back in line
# (ari_app/engine/bookings.py). ``attributes`` is the caller's routing data as JSON.
booked_callbacks = Table(
    "booked_callbacks",
    metadata,
    Column("call_id", String, primary_key=True),
    Column("server", String, nullable=False),  # the Asterisk the caller called
    Column("queue", String, nullable=False),
    Column("number", String, nullable=False),  # to call back
    Column("caller_number", String, nullable=False, server_default=""),
    Column("caller_name", Text, nullable=False, server_default=""),
    Column("exten", String, nullable=False, server_default=""),  # the number dialed
    Column("lang", String),
    Column("priority", Integer, nullable=False, server_default=text("0")),
    Column("attributes", Text, nullable=False, server_default="{}"),
    _time("entered", nullable=False),  # first entry in line: the place kept
    _time("booked_at", nullable=False),
)
