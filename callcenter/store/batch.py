"""A run of the writer's operations, as rows per table: a few statements per batch.

The engine submits a dozen small writes per call (the interaction's fields as the call
goes on, legs, queue_log lines, agent states). Written one statement each, the store
cost more CPU than routing the call. Gathered here, a batch becomes one executemany
per table (per set of fields for interactions), whatever the number of calls in it.

The rows written are the same as writing the operations one by one, in order:

* an interaction's writes merge into one: a later value replaces an earlier one,
  except for the fields that keep their first value (``FIRST_VALUE_FIELDS``: the
  first one not NULL stays, as the upsert's ``COALESCE`` keeps it in the database);
* interactions are written before legs (a leg only needs its interaction row to
  exist; an upsert after it would set the same fields);
* queue_log lines and agent state changes keep their order (their ids follow it), and
  logins and logouts open and close sessions in that order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from callcenter.core.commands import AgentStateChanged, QueueLog
from callcenter.store import queue_log as qlog
from callcenter.store.records import FIRST_VALUE_FIELDS, Leg
from callcenter.store.transaction import (
    Statement,
    StoreTransaction,
    interaction_upserts,
    interaction_values,
    leg_inserts,
    opens_or_closes_a_session,
    queue_log_inserts,
    state_change_inserts,
)


@dataclass(slots=True)
class BatchRows:
    interactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Call id -> the merged fields of its interaction writes."""
    legs: list[Leg] = field(default_factory=list)
    lines: list[QueueLog] = field(default_factory=list)
    states: list[tuple[Sequence[AgentStateChanged], float]] = field(default_factory=list)

    def interaction(self, call_id: str, fields: Mapping[str, Any]) -> None:
        """Merge a write; an unknown field raises TypeError (the batch is then written
        one operation at a time, and only that one is lost)."""
        values = interaction_values(fields)
        merged = self.interactions.get(call_id)
        if merged is None:
            self.interactions[call_id] = values
            return
        for name, value in values.items():
            if name in FIRST_VALUE_FIELDS and merged.get(name) is not None:
                continue
            merged[name] = value

    def statements(self, dialect: str, member_name: qlog.MemberName) -> list[Statement] | None:
        """The batch as executemanys, in the order :meth:`apply` writes it; None when an
        agent logs in or out in it (its session is opened or closed row by row)."""
        timed = [(change, at) for changes, at in self.states for change in changes]
        if any(opens_or_closes_a_session(change) for change, _ in timed):
            return None
        return [
            *interaction_upserts(dialect, self.interactions),
            *leg_inserts(dialect, self.legs, self.interactions),
            *queue_log_inserts(self.lines, member_name),
            *state_change_inserts(timed),
        ]

    async def apply(self, tx: StoreTransaction) -> None:
        await tx.upsert_interactions(self.interactions)
        await tx.add_legs(self.legs, existing=self.interactions)
        await tx.append_queue_log(self.lines)
        await tx.record_agent_states(self.states)
