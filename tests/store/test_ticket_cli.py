"""``callcenter ticket``: a department follows a complaint up from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.store import Store
from callcenter.store.tickets import create_ticket, get_ticket

REPO = Path(__file__).resolve().parents[2]
NOW = 1_795_753_044.0


def test_follow_up_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cc.db")

    async def create() -> int:
        async with await Store.open(db) as store:
            return await create_ticket(
                store, department="quality", actor="1001", at=NOW, customer="138",
                summary="label \x1b[31mred\x1b[0m copied",
            )  # fmt: skip

    ticket_id = asyncio.run(create())
    common = ["--db", db, "--as", "li"]
    assign = ["ticket", "assign", str(ticket_id), "logistics", "--to", "wang"]
    assert main([*assign, "--config", str(REPO / "queues"), *common]) == 0
    assert main(["ticket", "note", str(ticket_id), "called the customer", *common]) == 0
    assert main(["ticket", "close", str(ticket_id), "replacement sent", *common]) == 0
    capsys.readouterr()
    assert main(["ticket", "show", str(ticket_id), "--db", db]) == 0
    shown = capsys.readouterr().out
    assert "\x1b" not in shown  # no escape sequence reaches the terminal
    assert "label ?[31mred?[0m copied" in shown
    assert f"ticket {ticket_id}: closed, logistics, wang" in shown
    assert "li         close: replacement sent" in shown
    assert main(["ticket", "list", "--status", "closed", "--db", db]) == 0
    assert f"{ticket_id:<5} closed" in capsys.readouterr().out

    async def history() -> list[str]:
        async with await Store.open(db) as store:
            ticket = await get_ticket(store, ticket_id)
            assert ticket is not None
            return [f"{e.actor}:{e.action}" for e in ticket.history]

    assert asyncio.run(history()) == ["1001:create", "li:assign", "li:note", "li:close"]


def test_refusals_say_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cc.db")
    assert main(["ticket", "note", "7", "x", "--db", db]) == 1
    assert "no ticket 7" in capsys.readouterr().err
    config = ["--config", str(REPO / "queues")]
    assert main(["ticket", "assign", "7", "nowhere", "--db", db, *config]) == 1
    assert "unknown department 'nowhere'" in capsys.readouterr().err
