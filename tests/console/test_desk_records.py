"""The store queries behind the agent desk (SQLite here; the same plain SELECTs as
``callcenter/store/reports.py``): the agent's own day, replayed from its stored state
changes, and the caller's complaints not closed yet, for the screen pop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.core.commands import AgentStateChanged
from callcenter.core.states import AgentState as S
from callcenter.store import Store
from callcenter.store.reports import agent_day
from callcenter.store.tickets import (
    assign_ticket,
    close_ticket,
    create_ticket,
    follow_up,
    open_tickets_of,
)
from tests.console.conftest import HOSTILE_NAME

MIDNIGHT = 1_795_737_600.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "cc.db") as opened:
        yield opened


async def _moves(store: Store, agent: str, *steps: tuple[float, S, S, str]) -> None:
    for at, old, new, cause in steps:
        await store.record_agent_state([AgentStateChanged(agent, old, new, cause)], MIDNIGHT + at)


async def test_an_agents_day_is_replayed_from_its_stored_state_changes(store: Store) -> None:
    await _moves(
        store, "1001",
        (-600, S.LOGGED_OUT, S.READY, "login"),  # yesterday: the day counts from midnight
        (100, S.READY, S.RINGING, "offer"),
        (110, S.RINGING, S.ON_CALL, "answer"),
        (230, S.ON_CALL, S.WRAP_UP, "hangup"),
        (260, S.WRAP_UP, S.READY, "wrapup_done"),
        (300, S.READY, S.RINGING, "offer"),
        (315, S.RINGING, S.READY, "ring no_answer"),  # missed
        (400, S.READY, S.RINGING, "offer"),
        (402, S.RINGING, S.READY, "ring ring_cancelled"),  # another agent took it: not missed
        (500, S.READY, S.RINGING, "offer"),
        (515, S.RINGING, S.PAUSED, "ring auto_pause"),  # missed, and paused for it
        (815, S.PAUSED, S.READY, "unpause"),
        (900, S.READY, S.RINGING, "offer"),
        (905, S.RINGING, S.ON_CALL, "answer"),  # still talking when counted
    )  # fmt: skip
    await _moves(
        store, "1002", (50, S.LOGGED_OUT, S.READY, "login"), (60, S.READY, S.RINGING, "offer"),
        (61, S.RINGING, S.ON_CALL, "answer"),
    )  # fmt: skip
    day = await agent_day(store, "1001", MIDNIGHT, MIDNIGHT + 965)
    assert (day.calls, day.offers, day.missed) == (2, 5, 2)
    assert day.talk == 120.0 + 60.0  # the call in progress counts up to the end
    assert day.wrap_up == 30.0
    assert day.paused == 300.0
    assert day.logged_in == 965.0
    assert day.average_handle == (180.0 + 30.0) / 2
    nobody = await agent_day(store, "2001", MIDNIGHT, MIDNIGHT + 965)
    assert (nobody.calls, nobody.logged_in, nobody.average_handle) == (0, 0.0, None)


async def test_a_callers_pending_complaints_with_their_latest_entry(store: Store) -> None:
    async def create(number: str, at: float, summary: str) -> int:
        return await create_ticket(store, department="quality", summary=summary, actor="1001",
                             at=MIDNIGHT + at, customer=number)  # fmt: skip

    closed = await create("5551234", 10, "old complaint")
    await close_ticket(store, closed, text="settled", actor="1001", at=MIDNIGHT + 20)
    older = await create("5551234", 30, HOSTILE_NAME)
    newer = await create("5551234", 40, "late delivery")
    await assign_ticket(store, older, department="logistics", actor="1002", at=MIDNIGHT + 50)
    await follow_up(store, older, text="[b]refund[/b] promised", actor="1002", at=MIDNIGHT + 60)
    await create("5559999", 70, "someone else's")

    found = await open_tickets_of(store, "5551234")
    assert [ticket.id for ticket in found] == [older, newer]  # most recently changed first
    first = found[0]
    assert (first.department, first.status) == ("logistics", "assigned")
    assert [(e.action, e.text) for e in first.history] == [("note", "[b]refund[/b] promised")]
    assert [(e.action, e.text) for e in found[1].history] == [("create", "late delivery")]
    assert await open_tickets_of(store, "5550000") == []
    assert len(await open_tickets_of(store, "5551234", limit=1)) == 1
