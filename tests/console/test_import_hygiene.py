"""The UI stays in the consoles: the engine, the store and the bus never load Textual, and
the consoles' link and view models (desk, wallboard) do not either, so they run and are
tested without a terminal."""

from __future__ import annotations

import subprocess
import sys

HEADLESS = (
    "ari_app.engine.app",
    "callcenter.store.desk_requests",
    "callcenter.bus.client",
    "console.link",
    "console.desk",
    "console.wallboard",
    "console.resources",
)


def test_no_ui_below_the_consoles() -> None:
    # One interpreter for all: if together they load no UI module, none of them does.
    ui = "('textual', 'rich')"
    code = (
        f"import sys, {', '.join(HEADLESS)}; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {ui}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)  # fmt: skip
    assert result.stdout.strip() == "[]", f"UI modules loaded: {result.stdout.strip()}"
