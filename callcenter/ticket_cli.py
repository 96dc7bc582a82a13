"""``callcenter ticket``: the back office's side of complaint tickets.

Agents create tickets from the console; the department that gets one follows it up
here: list, show with its history, assign, add a note, close with what the customer
was told, reopen. Every change is recorded with who (``--as``, default the login
name) and when.

Ticket text comes from callers and agents: control characters are shown as ``?`` so
that a summary cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import re
import sys

from callcenter.config import ConfigErrors, default_config_path, load_config
from callcenter.store import Store
from callcenter.store import tickets as tk

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with control characters (escape sequences) replaced; newlines kept."""
    return _CONTROL.sub("?", text)


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M")


def add_arguments(parser: argparse.ArgumentParser, default_database: str) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="tickets, newest first")
    listing.add_argument("--status", choices=[s.value for s in tk.TicketStatus])
    listing.add_argument("--department")
    listing.add_argument("--customer", metavar="NUMBER")
    show = actions.add_parser("show", help="one ticket with its history")
    show.add_argument("id", type=int)
    assign = actions.add_parser("assign", help="hand a ticket to a department (and someone)")
    assign.add_argument("id", type=int)
    assign.add_argument("department")
    assign.add_argument("--to", metavar="PERSON", help="who in the department")
    assign.add_argument("--text", default="", help="why")
    assign.add_argument("--config", default=None, metavar="DIR",
                        help="where departments are listed (default: queues/)")  # fmt: skip
    for name, help_text in (("note", "add a follow-up note"),
                            ("close", "close, with what the customer was told"),
                            ("reopen", "open a closed ticket again")):  # fmt: skip
        action = actions.add_parser(name, help=help_text)
        action.add_argument("id", type=int)
        action.add_argument("text")
    for action in actions.choices.values():
        action.add_argument("--db", default=default_database, metavar="URL", help="the store")
        action.add_argument("--as", dest="actor", default=None, help="who (default: login name)")


async def _run(args: argparse.Namespace) -> int:
    actor = args.actor or getpass.getuser()
    async with await Store.open(args.db) as store:
        now = dt.datetime.now(dt.UTC).timestamp()
        if args.action == "list":
            status = tk.TicketStatus(args.status) if args.status else None
            found = await tk.list_tickets(store, status=status, department=args.department,
                                          customer=args.customer)  # fmt: skip
            print("id    status    department      customer      created (UTC)     summary")
            for t in found:
                summary = printable(t.summary.splitlines()[0] if t.summary else "")[:60]
                print(f"{t.id:<5} {t.status:<9} {t.department:<15} {t.customer or '-':<13} "
                      f"{_when(t.created_at):<17} {summary}")  # fmt: skip
            return 0
        if args.action == "show":
            ticket = await tk.get_ticket(store, args.id)
            if ticket is None:
                raise tk.TicketError(f"no ticket {args.id}")
            print(f"ticket {ticket.id}: {ticket.status}, {ticket.department}"
                  f"{', ' + ticket.assignee if ticket.assignee else ''}")  # fmt: skip
            print(f"customer {ticket.customer or '-'}, call {ticket.call_id or '-'}, "
                  f"by {ticket.created_by} at {_when(ticket.created_at)} UTC")  # fmt: skip
            print(printable(ticket.summary))
            for event in ticket.history:
                extra = f" -> {event.department}" if event.action == "assign" else ""
                print(f"  {_when(event.at)} {event.actor:<10} {event.action}{extra}: "
                      f"{printable(event.text)}")  # fmt: skip
            return 0
        if args.action == "assign":
            departments = load_config(args.config or default_config_path()).departments
            if args.department not in departments:
                raise tk.TicketError(f"unknown department {args.department!r}: "
                                     f"{', '.join(departments) or 'none configured'}")  # fmt: skip
            await tk.assign_ticket(store, args.id, department=args.department, actor=actor,
                                   at=now, assignee=args.to, text=args.text)  # fmt: skip
        elif args.action == "note":
            await tk.follow_up(store, args.id, text=args.text, actor=actor, at=now)
        elif args.action == "close":
            await tk.close_ticket(store, args.id, text=args.text, actor=actor, at=now)
        elif args.action == "reopen":
            await tk.reopen_ticket(store, args.id, text=args.text, actor=actor, at=now)
        print(f"ticket {args.id}: {args.action} recorded")
        return 0


def main(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except (tk.TicketError, ConfigErrors) as error:
        print(f"callcenter ticket {args.action}: {error}", file=sys.stderr)
        return 1
