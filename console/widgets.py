"""The agent desk's widgets, named after what they show: state bar, screen pop, figures.

Caller-supplied text (caller name, tags, notes, IVR choices) only ever goes into
``rich.text.Text`` objects, which are shown as written: a caller named
``[bold]x[/]`` is shown with its brackets, never styled. Strings handed to Textual
widgets are parsed as markup, so nothing a caller can influence is passed as one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from callcenter.bus.schemas import OfferMessage
from callcenter.core.states import AgentState
from console.desk import Desk
from console.i18n import Catalogue, duration

STATE_STYLES = {
    AgentState.LOGGED_OUT: "white on grey30",
    AgentState.READY: "black on green",
    AgentState.PAUSED: "black on yellow",
    AgentState.RINGING: "white on dark_orange3 bold",
    AgentState.ON_CALL: "white on blue",
    AgentState.WRAP_UP: "black on cyan",
}


_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def literal(value: object, style: str = "") -> Text:
    """``value`` as text shown exactly as written: no markup, and no control characters
    (Rich keeps ESC, so a caller name could otherwise carry a terminal escape sequence)."""
    return Text(_CONTROL.sub("?", str(value)), style=style, no_wrap=False)


def clock(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).strftime("%m-%d %H:%M")


class StateBar(Static):
    """The agent's state, time in it, pause reason and whether the bus is up."""

    def show(self, desk: Desk, t: Catalogue, now: float, *, bus_up: bool, reason: str,
             name: str = "", phone: Text | None = None) -> None:  # fmt: skip
        state = desk.state
        line = literal(f" {desk.agent} {name} ".replace("  ", " "), style="bold")
        label = t(f"state.{state}") if state is not None else t("state.unknown")
        line.append(f" {label} ", style=STATE_STYLES.get(state, "reverse") if state else "reverse")
        if state is not None:
            line.append(f" {duration(desk.time_in_state(now))} ", style="bold")
        if state is AgentState.PAUSED and reason:
            line.append(reason)
        if desk.on_hold:
            line.append(f"  ⏸ {t('key.hold')}", style="bold yellow")
        if desk.muted:
            line.append(f"  🔇 {t('key.mute')}", style="bold yellow")
        if desk.consulting:
            line.append(f"  ⇄ {desk.consulting}", style="bold magenta")
        line.append("   ")
        if phone is not None:  # --phone baresip: the softphone's registration and call
            line.append_text(phone)
            line.append("   ")
        line.append(t("bus.up") if bus_up else t("bus.down"), style="green" if bus_up else "red")
        self.update(line)


class ScreenPop(Static):
    """Who is calling: the offer's caller details, pending complaints and past contacts."""

    def show(self, desk: Desk, t: Catalogue, now: float, queue_label: str,
             departments: Mapping[str, str] | None = None) -> None:  # fmt: skip
        offer = desk.offer
        if offer is None:
            self.update(Text(t("pop.none"), style="dim"))
            return
        facts = Table.grid(padding=(0, 1))
        facts.add_column(style="bold", no_wrap=True)
        facts.add_column()
        name = literal(offer.caller_name)
        if offer.vip:
            name.append(f"  ★ {t('pop.vip')}", style="bold yellow")
        facts.add_row(t("pop.number"), literal(offer.caller_number or offer.callback_number))
        facts.add_row(t("pop.name"), name)
        if offer.tags:
            tags = Text()
            for tag in offer.tags:
                tags.append_text(literal(f" {tag} ", style="reverse"))
                tags.append(" ")
            facts.add_row(t("pop.tags"), tags)
        facts.add_row(t("pop.ivr"), literal(" › ".join(offer.ivr_path)))
        facts.add_row(t("pop.queue"), literal(queue_label))
        facts.add_row(t("pop.waited"), literal(duration(offer.waited)))
        if offer.customer_notes:
            facts.add_row(t("pop.notes"), literal(offer.customer_notes))
        parts: list[RenderableType] = [facts]
        if offer.open_tickets:  # before the history: a pending complaint changes the answer
            parts.append(_open_tickets(offer, t, departments or {}))
        if offer.history:
            history = Table(title=t("pop.history"), expand=True, title_justify="left",
                            box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0))  # fmt: skip
            for key in ("hist.when", "hist.queue", "hist.agent", "hist.disposition"):
                history.add_column(t(key), no_wrap=True)
            history.add_column(t("hist.notes"), overflow="fold", ratio=1)  # takes what is left
            for past in offer.history:
                history.add_row(
                    literal(clock(past.at)),
                    literal(past.queue),
                    literal(past.agent),
                    literal(past.disposition),
                    literal(past.notes),
                )
            parts.append(history)
        self.update(Group(*parts))


def _open_tickets(offer: OfferMessage, t: Catalogue, departments: Mapping[str, str]) -> Table:
    """The caller's complaints not closed yet, each with its latest entry (agents' words)."""
    table = Table(title=t("pop.open_tickets", count=len(offer.open_tickets)), expand=True,
                  title_justify="left", title_style="bold red", box=box.SIMPLE_HEAD,
                  padding=(0, 1, 0, 0))  # fmt: skip
    for key in ("ticket.number", "ticket.department", "ticket.status", "hist.when"):
        table.add_column(t(key), no_wrap=True)
    table.add_column(t("ticket.last"), overflow="fold", ratio=1)
    for pending in offer.open_tickets:
        last = f"{pending.last_action}: {pending.last_text}" if pending.last_text else ""
        table.add_row(
            literal(f"#{pending.ticket}"),
            literal(departments.get(pending.department, pending.department)),
            literal(_status(t, pending.status)),
            literal(clock(pending.updated_at)),
            literal(last),
        )
    return table


def _status(t: Catalogue, status: str) -> str:
    key = f"ticket.status.{status}"
    words = t(key)
    return status if words == key else words  # a status this console has no words for


class Figures(Static):
    """The agent's own day, from the store: calls, talk, average handle, wrap-up, pause,
    offers and missed offers, as of when the engine counted them."""

    def show(self, desk: Desk, t: Catalogue) -> None:
        figures = desk.figures
        if figures is None:
            self.update(Text(t("figures.none"), style="dim"))
            return
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column(justify="right")
        grid.add_row(t("figures.calls"), str(figures.calls))
        grid.add_row(t("figures.talk"), duration(figures.talk_time))
        grid.add_row(t("figures.average"), duration(figures.average_handle))
        grid.add_row(t("figures.wrap"), duration(figures.wrap_up_time))
        grid.add_row(t("figures.pause"), duration(figures.pause_time))
        grid.add_row(t("figures.offers"), str(figures.offers))
        grid.add_row(t("figures.missed"), str(figures.missed))
        grid.add_row(t("figures.logged_in"), duration(figures.logged_in_time))
        as_of = dt.datetime.fromtimestamp(figures.end).strftime("%H:%M:%S")
        self.update(Group(grid, Text(t("figures.as_of", time=as_of), style="dim")))


class Activity(Static):
    """The engine's answers to the agent's commands, newest first."""

    def show(self, desk: Desk) -> None:
        self.update(literal("\n".join(desk.activity)))
