"""What the agent and the supervisor consoles share: the Textual app's frame.

One stylesheet, the footer's key bindings (with Ctrl+Q to quit) in the chosen
language, the console's own screen under any dialog, and one way to send a command
on the bus and put the engine's answer into words. Each console adds its layout,
its bus messages and its actions (``console/agent_app.py``, ``console/supervisor_app.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from textual.app import App
from textual.screen import Screen

from callcenter.bus.schemas import Reply
from console.i18n import Catalogue
from console.link import Command, Link, LinkDownError

REQUEST_WAIT = 5.0  # seconds for the engine's reply to a command

Key = tuple[str, str, str]  # key, action, catalogue key of its footer label


class ConsoleApp(App[None]):
    CSS_PATH = Path(__file__).with_name("console.tcss")
    TITLE = "callcenter"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self, keys: Iterable[Key], *, lang: str = "en", clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__()
        self.t = Catalogue(lang)
        self.clock = clock
        self.bus_up = False
        for key, action, words in keys:
            self.bind(key, action, description=self.t(words))
        self.bind("ctrl+q", "quit", description=self.t("key.quit"))

    @property
    def main(self) -> Screen[None]:
        """The console's own screen: a dialog on top must not hide its widgets from updates."""
        return self.screen_stack[0]

    def _showing(self) -> bool:
        """False while the app starts or stops (no widgets to update then)."""
        return bool(self.screen_stack) and self.main.is_attached

    def _stamp(self) -> str:
        return time.strftime("%H:%M:%S", time.localtime(self.clock()))

    async def _request(self, link: Link | None, command: Command) -> tuple[Reply | None, str]:
        """Send ``command``; the engine's reply (None: none came) and a line saying how it
        went, in the console's language, for its activity or alerts pane."""
        action = command.action
        try:
            if link is None:
                raise LinkDownError("not connected")
            reply = await link.request(command, REQUEST_WAIT)
        except LinkDownError:
            return None, self.t("reply.offline", action=action)
        except TimeoutError:
            return None, self.t("reply.timeout", action=action)
        if reply.ok:
            return reply, self.t("reply.ok", action=action)
        return reply, self.t("reply.failed", action=action, error=reply.error)
