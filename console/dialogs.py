"""Modal dialogs of the consoles: log in, pause reason, transfer, DTMF, a value to type,
and whether to quit while the console's own phone carries a call.

Each dialog returns its answer with ``dismiss`` (None: cancelled with Escape) and
never talks to the bus itself; the app sends the command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, RadioButton, RadioSet
from textual.widgets.option_list import Option

from console.i18n import Catalogue

_DTMF = set("0123456789*#ABCD")
_Answer = TypeVar("_Answer")


class Dialog(ModalScreen[_Answer | None]):
    """A modal that Escape closes without an answer."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def action_cancel(self) -> None:
        self.dismiss(None)


class LoginDialog(Dialog[str]):
    """The agent's PIN; shown until the engine accepts it."""

    def __init__(self, t: Catalogue, agent: str, error: str = "") -> None:
        super().__init__()
        self.t, self.agent, self.error = t, agent, error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.t("login.prompt", agent=self.agent))
            yield Input(password=True, id="pin", restrict=r"[0-9]*", max_length=12)
            yield Label(Text(self.error, style="red"), id="login-error")
            yield Button(self.t("login.button"), id="login", variant="primary")

    @on(Input.Submitted, "#pin")
    @on(Button.Pressed, "#login")
    def _submit(self) -> None:
        pin = self.query_one("#pin", Input).value
        if pin:
            self.dismiss(pin)


class ChoiceDialog(Dialog[str]):
    """Pick one of ``choices`` (code -> label); Enter picks, Escape cancels."""

    def __init__(self, title: str, choices: Mapping[str, str]) -> None:
        super().__init__()
        self.title_text, self.choices = title, choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            yield OptionList(
                *(Option(Text(label), id=code) for code, label in self.choices.items()),
                id="choices",
            )

    @on(OptionList.OptionSelected, "#choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ValueDialog(Dialog[str]):
    """Type one value (digits to send, a priority, ...)."""

    def __init__(self, prompt: str, *, restrict: str | None = None, max_length: int = 64) -> None:
        super().__init__()
        self.prompt, self.restrict, self.max_length = prompt, restrict, max_length

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.prompt)
            yield Input(id="value", restrict=self.restrict, max_length=self.max_length)

    @on(Input.Submitted, "#value")
    def _submit(self, event: Input.Submitted) -> None:
        if event.value:
            self.dismiss(event.value)


def dtmf_dialog(t: Catalogue) -> ValueDialog:
    return ValueDialog(t("dtmf.prompt"), restrict=r"[0-9*#A-D]*", max_length=32)


@dataclass(frozen=True, slots=True)
class TransferRequest:
    kind: str  # queue | agent | number | complete | cancel
    target: str = ""
    attended: bool = False


class TransferDialog(Dialog[TransferRequest]):
    """Blind or attended transfer to a queue, an agent or a number; while consulting,
    complete or cancel the attended transfer."""

    def __init__(self, t: Catalogue, *, consulting: str = "") -> None:
        super().__init__()
        self.t, self.consulting = t, consulting

    def compose(self) -> ComposeResult:
        t = self.t
        with Vertical(classes="dialog"):
            yield Label(t("transfer.title"))
            if self.consulting:
                yield Label(Text(f"⇄ {self.consulting}"))
                with Horizontal(classes="buttons"):
                    yield Button(t("transfer.complete"), id="complete", variant="success")
                    yield Button(t("transfer.cancel"), id="cancel-transfer", variant="error")
                return
            with RadioSet(id="kind"):
                yield RadioButton(t("wb.queue"), value=True, id="queue")
                yield RadioButton(t("wb.agent"), id="agent")
                yield RadioButton(t("pop.number"), id="number")
            yield Input(placeholder=t("transfer.target"), id="target", max_length=64)
            with Horizontal(classes="buttons"):
                yield Button(t("transfer.blind"), id="blind", variant="primary")
                yield Button(t("transfer.attended"), id="attended")

    def _request(self, attended: bool) -> None:
        target = self.query_one("#target", Input).value.strip()
        pressed = self.query_one("#kind", RadioSet).pressed_button
        kind = pressed.id if pressed is not None and pressed.id else "queue"
        if target:
            self.dismiss(TransferRequest(kind, target, attended))

    @on(Input.Submitted, "#target")
    @on(Button.Pressed, "#blind")
    def _blind(self) -> None:
        self._request(False)

    @on(Button.Pressed, "#attended")
    def _attended(self) -> None:
        self._request(True)

    @on(Button.Pressed, "#complete")
    def _complete(self) -> None:
        self.dismiss(TransferRequest("complete"))

    @on(Button.Pressed, "#cancel-transfer")
    def _cancel_transfer(self) -> None:
        self.dismiss(TransferRequest("cancel"))


class QuitRequest(StrEnum):
    AFTER_CALL = "after_call"  # the console stays until the phone's call ends, then quits
    NOW = "now"  # quit now: the phone stops with the console, the call ends


class QuitDialog(Dialog[QuitRequest]):
    """Asked on quit while the console's softphone (``--phone baresip``) carries a call:
    the phone is the console's child and stops with it, so the caller would be hung up.
    Escape or Stay: no answer (the console stays, and a pending quit is called off)."""

    def __init__(self, t: Catalogue) -> None:
        super().__init__()
        self.t = t

    def compose(self) -> ComposeResult:
        t = self.t
        with Vertical(classes="dialog"):
            yield Label(Text(t("quit.title"), style="bold"))
            yield Label(t("quit.explain"))
            with Horizontal(classes="buttons"):
                yield Button(t("quit.after_call"), id="quit-after-call", variant="primary")
                yield Button(t("quit.stay"), id="quit-stay")
                yield Button(t("quit.now"), id="quit-now", variant="error")

    def on_mount(self) -> None:
        self.query_one("#quit-after-call", Button).focus()  # Enter: the safe choice

    @on(Button.Pressed, "#quit-after-call")
    def _after_call(self) -> None:
        self.dismiss(QuitRequest.AFTER_CALL)

    @on(Button.Pressed, "#quit-now")
    def _now(self) -> None:
        self.dismiss(QuitRequest.NOW)

    @on(Button.Pressed, "#quit-stay")
    def _stay(self) -> None:
        self.dismiss(None)


def valid_dtmf(digits: str) -> bool:
    return bool(digits) and set(digits) <= _DTMF
