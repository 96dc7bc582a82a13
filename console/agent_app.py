"""The agent console (``callcenter console --agent ID``).

Keyboard first: function keys drive the phone (shown in the footer), Tab moves
between the screen pop's panes; the mouse works on every button and list. The
console only talks to the engine through :mod:`console.link`: each key sends one
:class:`~callcenter.bus.schemas.AgentCommand` and the engine's reply (done, or why
not) appears in the activity pane. What the desk shows comes from the engine's
messages (:class:`console.desk.Desk`), so two consoles of one agent agree; the
agent's figures for the day are the engine's answer to ``figures`` (from the store).

With ``--phone baresip`` the call's audio is on this console's child process: quitting
during a call asks first (:class:`~console.dialogs.QuitDialog`) and can wait for the
call to end, so closing the console does not drop the caller by surprise.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import (
    Button,
    Footer,
    Input,
    Label,
    OptionList,
    Select,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)
from textual.widgets.option_list import Option
from textual.worker import Worker

from callcenter.bus.client import Received, new_request_id
from callcenter.bus.schemas import AgentCommand, AgentStateMessage, CommandAction, Reply, Scalar
from callcenter.core.states import AgentState
from console.app_base import REQUEST_WAIT, ConsoleApp
from console.desk import Desk
from console.dialogs import (
    ChoiceDialog,
    LoginDialog,
    QuitDialog,
    QuitRequest,
    TransferDialog,
    TransferRequest,
    dtmf_dialog,
    valid_dtmf,
)
from console.link import Link
from console.phone import CallPhase, PhoneError, PhoneStatus, Registration, Softphone
from console.resources import DeskResources
from console.widgets import Activity, Figures, ScreenPop, StateBar, literal

log = logging.getLogger(__name__)

# The agent's figures come from the store (the engine's ``figures`` command): asked again
# this long after a state change (the engine's store writer batches every 0.2 s), and
# every FIGURES_EVERY seconds so the running state's time moves on.
FIGURES_DELAY = 0.5
FIGURES_EVERY = 30.0

# (key, action, catalogue key for the footer)
AGENT_KEYS = (
    ("f2", "answer", "key.answer"),
    ("f3", "hangup", "key.hangup"),
    ("f4", "hold", "key.hold"),
    ("f5", "mute", "key.mute"),
    ("f6", "transfer", "key.transfer"),
    ("f7", "conference", "key.conference"),
    ("f8", "dtmf", "key.dtmf"),
    ("f9", "ready", "key.ready"),
    ("f10", "pause", "key.pause"),
    ("f11", "logout", "key.logout"),
    ("ctrl+s", "finish_wrap_up", "key.wrap"),
    ("ctrl+k", "knowledge", "key.kb"),
)


class AgentConsole(ConsoleApp):
    def __init__(
        self,
        agent: str,
        connect: Callable[[str], Link],
        resources: DeskResources,
        *,
        lang: str = "en",
        clock: Callable[[], float] = time.time,
        phone: Softphone | None = None,
    ) -> None:
        super().__init__(AGENT_KEYS, lang=lang, clock=clock)
        self.agent = agent
        self.phone = phone  # --phone baresip: the agent's SIP phone, started and stopped here
        self.connect = connect  # the agent's PIN is its bus password: no link before it
        self.link: Link | None = None
        self._bus_task: Worker[None] | None = None
        self._connected = asyncio.Event()
        self.resources = resources
        self.desk = Desk(agent)
        self._shown_offer = ""
        self._login_open = False
        self._figures_timer: Timer | None = None
        self.quit_after_call = False  # the agent chose to quit once the phone's call ends
        self.replies: list[tuple[CommandAction, dict[str, Scalar], Reply | None]] = []

    # -- layout -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        t = self.t
        yield StateBar(id="state")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                with VerticalScroll(id="pop-pane"):
                    yield Label(t("pop.title"), classes="pane-title")
                    yield ScreenPop(id="pop")
                yield Activity(id="activity")
            with TabbedContent(id="tabs"):
                with TabPane(t("scripts.title"), id="tab-scripts"):
                    yield OptionList(id="scripts")
                    yield Static(id="script-text", markup=False)
                with TabPane(t("kb.title"), id="tab-kb"):
                    yield Input(placeholder=t("kb.search"), id="kb-search")
                    yield OptionList(id="kb-results")
                    with VerticalScroll():
                        yield Static(id="kb-article", markup=False)
                with TabPane(t("wrap.title"), id="tab-wrap"), VerticalScroll():
                    yield Select[str]([], prompt=t("wrap.disposition"), id="disposition")
                    yield TextArea(id="notes")
                    yield Button(t("wrap.submit"), id="wrap-submit", variant="primary")
                    yield Label(t("ticket.title"), classes="pane-title")
                    yield Select[str](
                        [(Text(label), code) for code, label in self.resources.departments.items()],
                        prompt=t("ticket.department"),
                        id="department",
                    )
                    yield Input(placeholder=t("ticket.text"), id="ticket-text", max_length=2000)
                    with Horizontal(classes="buttons"):
                        yield Button(t("ticket.create"), id="ticket-create")
                        yield Button(t("ticket.note"), id="ticket-note")
                        yield Button(t("ticket.assign"), id="ticket-assign")
                        yield Button(t("ticket.close"), id="ticket-close")
                    yield Static(id="tickets")
                    yield Label(t("callback.title"), classes="pane-title")
                    with Horizontal(classes="buttons"):
                        yield Input(
                            placeholder=t("callback.when"),
                            id="callback-minutes",
                            restrict=r"[0-9]*",
                            max_length=5,
                        )
                        yield Button(t("callback.schedule"), id="callback")
                with TabPane(t("figures.title"), id="tab-figures"):
                    yield Figures(id="figures")
        yield Footer()

    def on_mount(self) -> None:
        self.title = self.t("title.agent", agent=self.agent)
        self.set_interval(1.0, self._tick)
        self.set_interval(FIGURES_EVERY, self._ask_figures)
        self._refresh_desk()
        self._show_scripts("")
        self._ask_pin()
        if self.phone is not None:
            self.phone.on_change = self._phone_changed
            self._start_phone()

    async def on_unmount(self) -> None:
        if self.phone is not None:
            await self.phone.stop()  # with the console: no baresip left behind

    # -- the softphone (--phone baresip) ----------------------------------------------

    @work(group="phone")
    async def _start_phone(self) -> None:
        if self.phone is None:
            return
        try:
            await self.phone.start()
        except PhoneError as exc:
            self._phone_note(str(exc))

    def _phone_changed(self, status: PhoneStatus) -> None:
        if self.quit_after_call and status.call is CallPhase.IDLE:
            self.exit()  # the call the agent stayed for has ended
            return
        self._refresh_state_bar()

    def _phone_note(self, error: str) -> None:
        self.desk.note(f"{self._stamp()} {self.t('phone.error', error=error)}")
        self._refresh_desk()

    def _call_on_phone(self) -> bool:
        return self.phone is not None and self.phone.status.call is not CallPhase.IDLE

    async def action_quit(self) -> None:
        """Quit; with a call on the console's own phone, ask first: baresip is the console's
        child and stops with it, so quitting would hang the caller up (issue 6: closing the
        console must not drop the agent's call)."""
        if not self._call_on_phone():
            self.exit()
            return
        if not isinstance(self.screen, QuitDialog):
            self.push_screen(QuitDialog(self.t), self._quit_chosen)

    def _quit_chosen(self, choice: QuitRequest | None) -> None:
        if choice is QuitRequest.NOW:
            self.exit()  # the agent chose to end the call with the console
        elif choice is QuitRequest.AFTER_CALL:
            if not self._call_on_phone():
                self.exit()  # it ended while the question was on screen
                return
            self.quit_after_call = True
            self.desk.note(f"{self._stamp()} {self.t('quit.pending')}")
            self._refresh_desk()
        elif self.quit_after_call:  # Stay: a pending quit is called off
            self.quit_after_call = False
            self.desk.note(f"{self._stamp()} {self.t('quit.cancelled')}")
            self._refresh_desk()

    @work(group="phone")
    async def _phone_do(self, what: str) -> None:
        """F2/F3 on the phone itself: answer or refuse its ringing call, or hang up a call
        the engine does not know about (the engine's calls are hung up through the engine)."""
        if self.phone is None:
            return
        try:
            await (self.phone.answer() if what == "answer" else self.phone.hangup())
        except PhoneError as exc:
            self._phone_note(str(exc))

    def _phone_label(self) -> Text | None:
        if self.phone is None:
            return None
        status, t = self.phone.status, self.t
        if status.call is CallPhase.RINGING:
            words, style = t("phone.ringing", peer=status.peer), "bold dark_orange3"
        elif status.call is CallPhase.UP:
            words, style = t("phone.up"), "bold blue"
        elif status.registration is Registration.FAILED:
            words, style = t("phone.failed", reason=status.reason), "bold red"
        else:
            words = t(f"phone.{status.registration}")
            style = "green" if status.registration is Registration.REGISTERED else "yellow"
        return literal(f"☎ {words}", style=style)  # the peer is caller-supplied

    # -- bus ------------------------------------------------------------------------

    def _bus_message(self, received: Received) -> None:
        if self.desk.apply(received.message):
            if self.desk.logged_in and self._login_open:
                # Already logged in (the console was restarted): the bus password proved
                # who this is, and the engine kept the session.
                self._close_login()
            if isinstance(received.message, AgentStateMessage):
                self._figures_soon()
            self._refresh_desk()

    def _bus_status(self, up: bool) -> None:
        self.bus_up = up
        if up:
            self._connected.set()
        else:
            self._connected.clear()
        self._refresh_state_bar()

    async def _resync(self) -> None:
        await self._send(CommandAction.RESYNC, {}, quiet=True)
        self._figures_soon()

    async def _send(
        self, action: CommandAction, params: dict[str, Scalar], *, quiet: bool = False
    ) -> Reply | None:
        """Send one command and record the engine's answer (None: no answer)."""
        command = AgentCommand(request_id=new_request_id(), action=action, params=params)
        reply, line = await self._request(self.link, command)
        if reply is not None:
            self.desk.replied(action, params, reply)
        self.replies.append((action, params, reply))
        if not quiet or reply is None or not reply.ok:
            self.desk.note(f"{self._stamp()} {line}")
        self._refresh_desk()
        return reply

    # -- the agent's figures (from the store, through the engine) ----------------------

    def _figures_soon(self) -> None:
        """Ask for the figures shortly: several state changes in a row ask once."""
        if self._figures_timer is not None:
            self._figures_timer.stop()
        self._figures_timer = self.set_timer(FIGURES_DELAY, self._ask_figures)

    @work(group="figures", exclusive=True)
    async def _ask_figures(self) -> None:
        """Quietly: an engine without a store, or a link down, leaves the last figures."""
        if self.link is None or not self.desk.logged_in:
            return
        command = AgentCommand(request_id=new_request_id(), action=CommandAction.FIGURES)
        reply, line = await self._request(self.link, command)
        if reply is None or not reply.ok:
            log.info("figures not updated: %s", line)
            return
        self.desk.replied(CommandAction.FIGURES, {}, reply)
        if self._showing():
            self.main.query_one(Figures).show(self.desk, self.t)

    @work(group="commands")
    async def command(self, action: CommandAction, params: dict[str, Scalar] | None = None) -> None:
        await self._send(action, params or {})

    # -- login ------------------------------------------------------------------------

    def _ask_pin(self, error: str = "") -> None:
        self._login_open = True
        self.push_screen(LoginDialog(self.t, self.agent, error), self._login)

    def _close_login(self) -> None:
        if self._login_open and isinstance(self.screen, LoginDialog):
            self.screen.dismiss(None)

    def _login(self, pin: str | None) -> None:
        self._login_open = False
        if pin is not None:  # None: Escape, or the engine already had the agent logged in
            self._log_in(pin)

    @work(group="login")
    async def _log_in(self, pin: str) -> None:
        if self.link is None:
            # The broker checks the PIN as the agent's password (a wrong one never connects).
            self.link = self.connect(pin)
            self.link.bind(self._bus_message, self._bus_status, self._resync)
            self._bus_task = self.run_worker(
                self.link.run(), name="bus", group="bus", exit_on_error=False
            )
            try:
                async with asyncio.timeout(REQUEST_WAIT):
                    await self._connected.wait()
            except TimeoutError:
                self._disconnect()
                self._ask_pin(self.t("login.failed", error=self.t("bus.down")))
                return
        reply = await self._send(CommandAction.LOGIN, {"pin": pin}, quiet=True)
        if (reply is not None and reply.ok) or self.desk.logged_in:
            return  # (a restarted console: the engine kept the agent logged in)
        why = reply.error if reply is not None and reply.error else self.t("bus.down")
        if reply is None:
            self._disconnect()
        self._ask_pin(self.t("login.failed", error=why))

    def _disconnect(self) -> None:
        if self._bus_task is not None:
            self._bus_task.cancel()
        self.link, self._bus_task = None, None
        self._bus_status(False)

    # -- rendering --------------------------------------------------------------------

    def _tick(self) -> None:
        self._refresh_state_bar()

    def _refresh_state_bar(self) -> None:
        if not self._showing():
            return
        bars = self.main.query(StateBar)
        if not bars:
            return  # the 1 s tick can fire while the screen's widgets are being removed
        reason = self.resources.pause_reasons.get(self.desk.reason, self.desk.reason)
        name = self.resources.agent_names.get(self.agent, "")
        bars.first().show(
            self.desk, self.t, self.clock(), bus_up=self.bus_up, reason=reason, name=name,
            phone=self._phone_label(),
        )  # fmt: skip

    def _refresh_desk(self) -> None:
        if not self._showing():
            return
        self._refresh_state_bar()
        offer = self.desk.offer
        queue = offer.queue if offer else ""
        label = self.resources.queue_labels.get(queue, queue)
        self.main.query_one(ScreenPop).show(
            self.desk, self.t, self.clock(), label, departments=self.resources.departments
        )
        self.main.query_one(Figures).show(self.desk, self.t)
        self.main.query_one(Activity).show(self.desk)
        tickets = Text()
        for ticket in self.desk.tickets.values():
            tickets.append_text(literal(f"#{ticket.id} {ticket.department} [{ticket.status}]\n",
                                        style="bold"))  # fmt: skip
            for entry in ticket.history:
                tickets.append_text(literal(f"  · {entry}\n"))
        self.main.query_one("#tickets", Static).update(tickets)
        shown = offer.call if offer else ""
        if shown != self._shown_offer:
            self._shown_offer = shown
            self._show_scripts(queue)
            if offer is not None:
                codes = self.resources.dispositions_for(queue)
                self.main.query_one("#disposition", Select).set_options(
                    [(Text(label), code) for code, label in codes.items()]
                )
                self.main.query_one("#notes", TextArea).text = ""

    def _show_scripts(self, queue: str) -> None:
        scripts = self.main.query_one("#scripts", OptionList)
        scripts.clear_options()
        scripts.add_options(
            Option(Text(script.label), id=name)
            for name, script in self.resources.scripts_for(queue)
        )
        if not self.desk.offer:
            codes = self.resources.dispositions_for(queue)
            self.main.query_one("#disposition", Select).set_options(
                [(Text(label), code) for code, label in codes.items()]
            )

    # -- scripts and knowledge --------------------------------------------------------

    @on(OptionList.OptionSelected, "#scripts")
    def _script_chosen(self, event: OptionList.OptionSelected) -> None:
        script = self.resources.scripts.get(event.option.id or "")
        if script is None:
            return
        self.main.query_one("#script-text", Static).update(Text(script.text))
        notes = self.main.query_one("#notes", TextArea)
        before = notes.text.rstrip() + "\n" if notes.text.strip() else ""
        notes.text = before + script.text.strip()

    @on(Input.Changed, "#kb-search")
    def _kb_search(self, event: Input.Changed) -> None:
        queue = self.desk.offer.queue if self.desk.offer else ""
        results = self.main.query_one("#kb-results", OptionList)
        results.clear_options()
        results.add_options(
            Option(Text(article.title), id=article.name)
            for article in self.resources.search(event.value, queue)
        )

    @on(OptionList.OptionSelected, "#kb-results")
    def _kb_open(self, event: OptionList.OptionSelected) -> None:
        for article in self.resources.articles:
            if article.name == event.option.id:
                body = Text(article.title + "\n\n", style="bold")
                body.append(article.body)
                self.main.query_one("#kb-article", Static).update(body)

    def action_knowledge(self) -> None:
        self.main.query_one(TabbedContent).active = "tab-kb"
        self.main.query_one("#kb-search", Input).focus()

    # -- call control ---------------------------------------------------------------

    def action_answer(self) -> None:
        if self.phone is not None and self.phone.status.call is CallPhase.RINGING:
            self._phone_do("answer")  # the engine's call rings the phone: pick it up
        else:
            self.command(CommandAction.ANSWER)

    def action_hangup(self) -> None:
        phone_call = self.phone is not None and self.phone.status.call is not CallPhase.IDLE
        if phone_call and not self.desk.in_call:
            self._phone_do("hangup")
        else:
            self.command(CommandAction.HANGUP)

    def action_hold(self) -> None:
        self.command(CommandAction.RESUME if self.desk.on_hold else CommandAction.HOLD)

    def action_mute(self) -> None:
        self.command(CommandAction.UNMUTE if self.desk.muted else CommandAction.MUTE)

    def action_conference(self) -> None:
        self.command(CommandAction.CONFERENCE)

    def action_transfer(self) -> None:
        self.push_screen(TransferDialog(self.t, consulting=self.desk.consulting), self._transfer)

    def _transfer(self, request: TransferRequest | None) -> None:
        if request is None:
            return
        if request.kind == "complete":
            self.command(CommandAction.COMPLETE_TRANSFER)
        elif request.kind == "cancel":
            self.command(CommandAction.CANCEL_TRANSFER)
        else:
            params: dict[str, Scalar] = {
                "kind": request.kind,
                "target": request.target,
                "attended": request.attended,
            }
            self.command(CommandAction.TRANSFER, params)

    def action_dtmf(self) -> None:
        self.push_screen(dtmf_dialog(self.t), self._dtmf)

    def _dtmf(self, digits: str | None) -> None:
        if digits and valid_dtmf(digits):
            self.command(CommandAction.DTMF, {"digits": digits})

    # -- state ----------------------------------------------------------------------

    def action_ready(self) -> None:
        self.command(CommandAction.UNPAUSE)

    def action_pause(self) -> None:
        reasons = ChoiceDialog(self.t("pause.title"), self.resources.pause_reasons)
        self.push_screen(reasons, self._pause)

    def _pause(self, reason: str | None) -> None:
        if reason:
            self.command(CommandAction.PAUSE, {"reason": reason})

    def action_logout(self) -> None:
        self.command(CommandAction.LOGOUT)

    # -- wrap-up, tickets, callbacks ------------------------------------------------

    def _call_id(self) -> str:
        return self.desk.offer.call if self.desk.offer else self.desk.call

    @on(Button.Pressed, "#wrap-submit")
    def action_finish_wrap_up(self) -> None:
        disposition = self.main.query_one("#disposition", Select).value
        if not isinstance(disposition, str):
            self.desk.note(self.t("wrap.need_disposition"))
            self._refresh_desk()
            self.main.query_one(TabbedContent).active = "tab-wrap"
            self.main.query_one("#disposition", Select).focus()
            return
        notes = self.main.query_one("#notes", TextArea).text
        params: dict[str, Scalar] = {"disposition": disposition, "notes": notes}
        if call := self._call_id():
            params["call"] = call
        self.command(CommandAction.WRAP_UP, params)

    def _ticket(self, op: str) -> None:
        department = self.main.query_one("#department", Select).value
        text = self.main.query_one("#ticket-text", Input).value
        params: dict[str, Scalar] = {"op": op, "text": text}
        if isinstance(department, str):
            params["department"] = department
        if op != "create":
            if not self.desk.tickets:
                return
            params["ticket"] = list(self.desk.tickets)[-1]  # the ticket in hand: the latest
        elif call := self._call_id():
            params["call"] = call
        self.command(CommandAction.TICKET, params)
        self.main.query_one("#ticket-text", Input).value = ""

    @on(Button.Pressed, "#ticket-create")
    def _ticket_create(self) -> None:
        self._ticket("create")

    @on(Button.Pressed, "#ticket-note")
    def _ticket_note(self) -> None:
        self._ticket("note")

    @on(Button.Pressed, "#ticket-assign")
    def _ticket_assign(self) -> None:
        self._ticket("assign")

    @on(Button.Pressed, "#ticket-close")
    def _ticket_close(self) -> None:
        self._ticket("close")

    @on(Button.Pressed, "#callback")
    def _callback(self) -> None:
        minutes = self.main.query_one("#callback-minutes", Input).value
        offer = self.desk.offer
        number = (offer.caller_number or offer.callback_number) if offer else ""
        if not minutes.isdigit() or int(minutes) <= 0 or not number:
            self.desk.note(self.t("input.invalid", what=self.t("callback.when")))
            self._refresh_desk()
            return
        params: dict[str, Scalar] = {
            "number": number,
            "at": self.clock() + int(minutes) * 60,
            "notes": self.main.query_one("#notes", TextArea).text,
        }
        self.command(CommandAction.SCHEDULE_CALLBACK, params)

    @property
    def state(self) -> AgentState | None:
        return self.desk.state
