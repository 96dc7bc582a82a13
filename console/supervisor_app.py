"""The supervisor console (``callcenter console --supervisor``): the live wallboard.

Messages only update :class:`console.wallboard.Wallboard`; a timer redraws at
:data:`FRAME_HZ` and touches only the cells that changed since the last frame on
the rows on screen (rows off screen are redrawn when scrolled to), plus their
time-in-state cells. A floor of 1,000 agents thus costs a few dozen cell updates a
frame, not a rebuilt table per message; the tables are
:class:`~console.live_table.LiveTable`s, which repaint only the rows changed and
reuse each cell already drawn (``bench/wallboard.py`` measures it). Waiting callers
are removed and added in place, the list rebuilt only when its order would break.

Actions on the highlighted agent (listen, whisper, barge, force pause or logout)
and on the highlighted waiting caller (move to another queue, change priority)
are :class:`~callcenter.bus.schemas.SupervisorCommand`s; the engine's reply is
shown in the alerts pane.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from itertools import islice

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import DataTable, Footer, Static
from textual.widgets.data_table import CellDoesNotExist

from callcenter.bus.client import Received, new_request_id
from callcenter.bus.schemas import (
    QueueStatsMessage,
    Reply,
    Scalar,
    SupervisorAction,
    SupervisorCommand,
)
from console.app_base import ConsoleApp
from console.dialogs import ChoiceDialog, ValueDialog
from console.i18n import duration
from console.link import Link
from console.live_table import LiveTable
from console.resources import DeskResources
from console.wallboard import ALERT_LINES, AgentRow, WaitingCall, Wallboard
from console.widgets import STATE_STYLES, literal

FRAME_HZ = 2.0

QUEUE_COLUMNS = ("queue", "waiting", "longest", "sl", "answered", "abandoned",
                 "ready", "busy", "paused", "wrap")  # fmt: skip
AGENT_COLUMNS = ("agent", "name", "state", "time", "calls")
WAITING_COLUMNS = ("call", "queue", "time")

SUPERVISOR_KEYS = (
    ("l", "monitor('listen')", "key.listen"),
    ("w", "monitor('whisper')", "key.whisper"),
    ("b", "monitor('barge')", "key.barge"),
    ("s", "stop_monitor", "key.stop"),
    ("p", "force_pause", "key.force_pause"),
    ("o", "force_logout", "key.force_logout"),
    ("m", "move_call", "key.move"),
    ("r", "set_priority", "key.priority"),
)


def _same(old: object, new: Text) -> bool:
    # Text equality ignores the base style (a state's colour), so compare it too.
    return isinstance(old, Text) and old.plain == new.plain and old.style == new.style


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


class SupervisorConsole(ConsoleApp):
    def __init__(
        self,
        user: str,
        link: Link,
        resources: DeskResources,
        *,
        endpoint: str = "",
        lang: str = "en",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(SUPERVISOR_KEYS, lang=lang, clock=clock)
        self.user, self.link, self.resources = user, link, resources
        self.endpoint = endpoint
        self.board = Wallboard(targets=resources.service_level_targets)
        self.notices: list[str] = []
        self.frames = 0
        self._stale_queues: set[str] = set()  # changed, not redrawn yet: off screen
        self._stale_agents: set[str] = set()
        self._stale_waiting: set[str] = set()
        self._alerts_height = 0  # the alerts pane's, when last drawn
        link.bind(self._bus_message, self._bus_status, self._connected)

    def compose(self) -> ComposeResult:
        yield Static(id="state")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield LiveTable(id="wallboard-queues", cursor_type="row", zebra_stripes=True)
                yield LiveTable(id="wallboard-agents", cursor_type="row", zebra_stripes=True)
            with Vertical(id="side"):
                yield LiveTable(id="waiting", cursor_type="row")
                yield Static(id="alerts")
        yield Footer()

    def on_mount(self) -> None:
        t = self.t
        self.title = t("title.supervisor", user=self.user)
        queues = self.main.query_one("#wallboard-queues", DataTable)
        queues.border_title = t("wb.queues")
        for column in QUEUE_COLUMNS:
            queues.add_column(t(f"wb.{column}"), key=column)
        agents = self.main.query_one("#wallboard-agents", DataTable)
        agents.border_title = t("wb.agents")
        for column in AGENT_COLUMNS:
            agents.add_column(t(f"wb.{column}"), key=column)
        waiting = self.main.query_one("#waiting", DataTable)
        waiting.border_title = t("wb.waiting")
        for column in WAITING_COLUMNS:
            waiting.add_column(t(f"wb.{'call' if column == 'call' else column}"), key=column)
        self.main.query_one("#alerts", Static).border_title = t("wb.alerts")
        self.run_worker(self.link.run(), name="bus", group="bus", exit_on_error=False)
        self.set_interval(1 / FRAME_HZ, self.flush)
        self._status_line()

    # -- bus ------------------------------------------------------------------------

    def _bus_message(self, received: Received) -> None:
        self.board.apply(received.message)

    def _bus_status(self, up: bool) -> None:
        self.bus_up = up
        if not up:
            # Call events are not retained: callers who left while the link was down would
            # stay listed forever. Forget them; the live events rebuild the list.
            self.board.forget_waiting()
        if self.is_running:
            self._status_line()

    async def _connected(self) -> None:
        """Retained stats and states arrive on subscribing: nothing to ask for."""

    def _status_line(self) -> None:
        line = Text(f" {self.title} ", style="reverse")
        line.append("  ")
        up = self.bus_up
        line.append(self.t("bus.up") if up else self.t("bus.down"), style="green" if up else "red")
        self.main.query_one("#state", Static).update(line)

    # -- drawing --------------------------------------------------------------------

    def flush(self) -> None:
        """One frame: the rows that changed, and the visible time-in-state cells."""
        if not self.screen_stack or not self.main.is_attached:
            return
        try:
            queues = self.main.query_one("#wallboard-queues", LiveTable)
            agents = self.main.query_one("#wallboard-agents", LiveTable)
            waiting = self.main.query_one("#waiting", LiveTable)
            alerts = self.main.query_one("#alerts", Static)
        except NoMatches:
            return  # the refresh timer can fire while the screen's widgets are being removed
        now = self.clock()
        self.frames += 1
        dirty_queues, dirty_agents = self.board.take_dirty()
        self._stale_queues |= self._add_rows(queues, dirty_queues, self._queue_row)
        self._draw_visible(queues, self._stale_queues, self._queue_row)
        self._stale_agents |= self._add_rows(agents, dirty_agents, self._agent_row)
        self._draw_visible(agents, self._stale_agents, self._agent_row, tick=now,
                           since=self.board.agents)  # fmt: skip
        if self.board.waiting_changed:
            self.board.waiting_changed = False
            self._sync_waiting(waiting)
        self._draw_visible(waiting, self._stale_waiting, self._waiting_row, tick=now,
                           since=self.board.waiting)  # fmt: skip
        if self.board.alerts_changed or alerts.content_region.height != self._alerts_height:
            self.board.alerts_changed = False
            self._redraw_alerts()

    @staticmethod
    def _add_rows(
        table: DataTable[Text], keys: set[str], cells: Callable[[str], list[Text]]
    ) -> set[str]:
        """Add the rows not in ``table`` yet; return the others (to redraw when seen)."""
        known = set()
        for key in sorted(keys):
            if key in table.rows:
                known.add(key)
            else:
                table.add_row(*cells(key), key=key)
        return known

    def _draw_visible(
        self,
        table: LiveTable,
        stale: set[str],
        cells: Callable[[str], list[Text]],
        *,
        tick: float | None = None,
        since: Mapping[str, AgentRow | WaitingCall] | None = None,
    ) -> None:
        """Redraw the changed rows on screen; rows off screen stay stale until scrolled to.

        With ``tick``, the "time" cell of every other row on screen is updated too, from
        the ``since`` of the row's entry in ``since``.
        """
        for key in table.visible_row_keys():
            if key in stale:
                stale.discard(key)
                shown = table.get_row(key)
                for column, old, new in zip(table.columns, shown, cells(key), strict=True):
                    if not _same(old, new):  # an unchanged cell costs nothing
                        table.update_cell(key, column, new)
            elif tick is not None and since is not None and key in since:
                new = Text(duration(tick - since[key].since))
                if not _same(table.get_cell(key, "time"), new):
                    table.update_cell(key, "time", new)

    def _queue_row(self, queue: str) -> list[Text]:
        return self._queue_cells(self.board.queues[queue])

    def _waiting_row(self, call: str) -> list[Text]:
        waiting = self.board.waiting[call]
        return [literal(call), literal(waiting.queue), Text(duration(self.clock() - waiting.since))]

    def _agent_row(self, agent: str) -> list[Text]:
        return self._agent_cells(self.board.agents[agent], self.clock())

    def _queue_cells(self, stats: QueueStatsMessage) -> list[Text]:
        below = stats.queue in self.board.below_target
        label = self.resources.queue_labels.get(stats.queue, stats.queue)
        return [
            literal(label),
            Text(str(stats.waiting), style="bold" if stats.waiting else ""),
            Text(duration(stats.longest_wait)),
            Text(_percent(stats.service_level), style="bold red" if below else "green"),
            Text(str(stats.answered)),
            Text(str(stats.abandoned)),
            Text(str(stats.agents.ready)),
            Text(str(stats.agents.busy)),
            Text(str(stats.agents.paused)),
            Text(str(stats.agents.wrap_up)),
        ]

    def _agent_cells(self, row: AgentRow, now: float) -> list[Text]:
        state = self.t(f"state.{row.state}")
        if row.reason:
            state += f" ({self.resources.pause_reasons.get(row.reason, row.reason)})"
        return [  # ids, names and reasons come from the bus or the configuration: literal
            literal(row.agent),
            literal(self.resources.agent_names.get(row.agent, "")),
            literal(state, style=STATE_STYLES.get(row.state, "")),
            Text(duration(now - row.since)),
            Text(str(row.calls)),
        ]

    def _sync_waiting(self, table: LiveTable) -> None:
        """The waiting callers, longest wait first, changed in place: callers who left are
        removed and new ones added at the bottom (they have waited least); the table is
        rebuilt only if that would break the order. The rows kept are redrawn when seen
        (a caller moved to another queue)."""
        calls = self.board.waiting
        for gone in [key for key in table.rows if key.value not in calls]:
            table.remove_row(gone)
        order = [c.call for c in sorted(calls.values(), key=lambda c: (c.since, c.call))]
        kept = [row.key.value for row in table.ordered_rows]
        new = [call for call in order if call not in table.rows]
        cursor = table.cursor_row
        rebuilt = kept + new != order
        if rebuilt:
            table.clear()
            kept, new = [], order
        for call in new:
            table.add_row(*self._waiting_row(call), key=call)
        if rebuilt and table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        self._stale_waiting = {key for key in kept if key is not None}

    def _redraw_alerts(self) -> None:
        pane = self.main.query_one("#alerts", Static)
        # The pane does not scroll: lay out only the newest alerts that can show (each takes
        # a line at least). Laying out all 100 made a storm of alerts a fifth of the CPU.
        self._alerts_height = pane.content_region.height
        room = self._alerts_height or ALERT_LINES
        notices = self.notices[-5:][::-1][:room]
        text = Text()
        for line in notices:
            text.append_text(literal(line + "\n", style="cyan"))
        for alert in islice(self.board.alerts, room - len(notices)):
            stamp = time.strftime("%H:%M:%S", time.localtime(alert.at))
            if alert.kind == "service_level" and not alert.text:
                words = self.t("wb.sl_alert", queue=alert.queue, value=_percent(alert.value),
                               target=_percent(alert.target))  # fmt: skip
            else:
                words = f"{alert.queue}: {alert.text}"
            text.append_text(literal(f"{stamp} {words}\n", style="bold red"))
        pane.update(text, layout=False)  # fixed-size pane

    # -- actions ------------------------------------------------------------------

    def _selected(self, table_id: str) -> str | None:
        table = self.main.query_one(table_id, DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return key.value

    @work(group="commands")
    async def command(self, action: SupervisorAction, params: dict[str, Scalar]) -> Reply | None:
        command = SupervisorCommand(request_id=new_request_id(), action=action, params=params)
        reply, line = await self._request(self.link, command)
        self.notices.append(line)
        self._redraw_alerts()
        return reply

    def action_monitor(self, mode: str) -> None:
        agent = self._selected("#wallboard-agents")
        if agent is None:
            return
        if not self.endpoint:
            self.push_screen(ValueDialog(self.t("sup.endpoint"), max_length=64),
                             lambda endpoint: self._monitor(agent, mode, endpoint))  # fmt: skip
            return
        self._monitor(agent, mode, self.endpoint)

    def _monitor(self, agent: str, mode: str, endpoint: str | None) -> None:
        if endpoint:
            self.endpoint = endpoint
            params: dict[str, Scalar] = {"agent": agent, "mode": mode, "endpoint": endpoint}
            self.command(SupervisorAction.MONITOR, params)

    def action_stop_monitor(self) -> None:
        self.command(SupervisorAction.STOP_MONITOR, {})

    def action_force_pause(self) -> None:
        agent = self._selected("#wallboard-agents")
        if agent is not None:
            dialog = ChoiceDialog(self.t("pause.title"), self.resources.pause_reasons)

            def chosen(reason: str | None) -> None:
                if reason:
                    self.command(SupervisorAction.FORCE_PAUSE, {"agent": agent, "reason": reason})

            self.push_screen(dialog, chosen)

    def action_force_logout(self) -> None:
        agent = self._selected("#wallboard-agents")
        if agent is not None:
            self.command(SupervisorAction.FORCE_LOGOUT, {"agent": agent})

    def action_move_call(self) -> None:
        call = self._selected("#waiting")
        if call is not None:
            dialog = ChoiceDialog(self.t("sup.target_queue"), self.resources.queue_labels)

            def chosen(queue: str | None) -> None:
                if queue:
                    self.command(SupervisorAction.MOVE_CALL, {"call": call, "queue": queue})

            self.push_screen(dialog, chosen)

    def action_set_priority(self) -> None:
        call = self._selected("#waiting")
        if call is not None:
            dialog = ValueDialog(self.t("sup.new_priority"), restrict=r"[0-9]*", max_length=3)

            def chosen(priority: str | None) -> None:
                if priority and priority.isdigit():
                    params: dict[str, Scalar] = {"call": call, "priority": int(priority)}
                    self.command(SupervisorAction.SET_PRIORITY, params)

            self.push_screen(dialog, chosen)
