"""LiveTable draws exactly what Textual's DataTable draws, whatever the sequence of changes.

Random sequences of the changes a wallboard makes (rows added, cells updated, rows
removed, the table cleared, the cursor moved, the table scrolled, the theme switched)
are applied to a stock ``DataTable`` and to a :class:`~console.live_table.LiveTable`
side by side; after each few changes both are asked for their lines (what the screen
holds: lines not repainted come from the widget's cache, so a change LiveTable forgot
to repaint shows up as a difference), compared character by character with their
styles and the row/column stamps mouse clicks read.
"""

from __future__ import annotations

import random

import pytest
from rich.segment import Segment
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.geometry import Region
from textual.widgets import DataTable

from console.live_table import LiveTable

COLUMNS = ("agent", "name", "state", "time", "calls")
WORDS = ("1001", "张伟 Zhang Wei", "[bold]x[/]", "Ready", "On call", "0:07", "12:34", "",
         "a rather long value that is cropped", "坐席 Agent", "3")  # fmt: skip
STYLES = ("", "bold", "black on green", "white on blue", "bold red")


class _SideBySide(App[None]):
    AUTO_FOCUS = None  # focus changes the cursor's colour: the test sets it

    def __init__(self, cursor_type: str, zebra: bool) -> None:
        super().__init__()
        self.options = {"cursor_type": cursor_type, "zebra_stripes": zebra}

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield DataTable(id="stock", **self.options)  # type: ignore[arg-type]
            yield LiveTable(id="live", **self.options)


def _cell(rng: random.Random) -> Text:
    return Text(rng.choice(WORDS), style=rng.choice(STYLES))


def _lines(table: DataTable[Text]) -> list[list[tuple[str, object]]]:
    width, height = table.size
    strips = table.render_lines(Region(0, 0, width, height))
    return [[(s.text, s.style) for s in Segment.simplify(strip)] for strip in strips]


async def _same_picture(app: _SideBySide, pilot: object) -> None:
    stock = app.query_one("#stock", DataTable)
    live = app.query_one("#live", LiveTable)
    await pilot.pause()  # type: ignore[attr-defined]
    assert live.size == stock.size
    assert _lines(live) == _lines(stock)
    for focused in (stock, live):  # the focused table's cursor has its own colour
        focused.focus()
        await pilot.pause()  # type: ignore[attr-defined]
    picture = _lines(live)
    stock.focus()
    await pilot.pause()  # type: ignore[attr-defined]
    assert picture == _lines(stock)
    app.set_focus(None)


@pytest.mark.parametrize(
    ("seed", "cursor_type", "zebra"),
    [
        (1, "row", True),
        (2, "row", False),
        (3, "cell", True),
        (4, "column", True),
        (5, "none", False),
    ],
)
async def test_live_table_draws_what_datatable_draws(
    seed: int, cursor_type: str, zebra: bool
) -> None:
    rng = random.Random(seed)
    app = _SideBySide(cursor_type, zebra)
    async with app.run_test(size=(120, 14)) as pilot:
        stock: DataTable[Text] = app.query_one("#stock", DataTable)
        tables = [stock, app.query_one("#live", LiveTable)]
        for table in tables:
            for column in COLUMNS:
                table.add_column(column, key=column)
        keys: list[str] = []
        serial = 0
        for step in range(120):
            roll = rng.random()
            if roll < 0.15 or not keys:  # a new agent
                serial += 1
                cells = [_cell(rng) for _ in COLUMNS]
                keys.append(f"a{serial}")
                for table in tables:
                    table.add_row(*cells, key=keys[-1])
            elif roll < 0.8:  # a burst of changes, as one frame makes
                for _ in range(rng.randint(1, 12)):
                    key, column, value = rng.choice(keys), rng.choice(COLUMNS), _cell(rng)
                    for table in tables:
                        table.update_cell(key, column, value)
            elif roll < 0.85:
                row, at = rng.randrange(len(keys)), rng.randrange(len(COLUMNS))
                for table in tables:
                    table.move_cursor(row=row, column=at)
            elif roll < 0.93:
                y = rng.randrange(len(keys))
                for table in tables:
                    table.scroll_to(y=y, animate=False)
            elif roll < 0.96:
                key = keys.pop(rng.randrange(len(keys)))
                for table in tables:
                    table.remove_row(key)
            elif roll < 0.98:  # every colour changes: no cell drawn in the old ones may stay
                app.theme = "textual-light" if app.theme == "textual-dark" else "textual-dark"
            else:
                keys.clear()
                for table in tables:
                    table.clear()
            if step % 6 == 5:
                await _same_picture(app, pilot)
        await _same_picture(app, pilot)


async def test_visible_row_keys_follow_the_scroll() -> None:
    app = _SideBySide("row", True)
    async with app.run_test(size=(120, 14)) as pilot:
        live = app.query_one("#live", LiveTable)
        for column in COLUMNS:
            live.add_column(column, key=column)
        for n in range(100):
            live.add_row(*[Text(str(n)) for _ in COLUMNS], key=f"a{n}")
        await pilot.pause()
        shown = live.visible_row_keys()
        assert shown[0] == "a0"
        assert len(shown) >= live.size.height - 1  # every row on screen (less the header)
        live.scroll_to(y=50, animate=False)
        await pilot.pause()
        shown = live.visible_row_keys()
        assert "a50" in shown
        assert "a20" not in shown
        assert "a99" not in shown
