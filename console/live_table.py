"""A DataTable for live boards: a changed cell costs its row's line, not a redrawn table.

Textual's ``DataTable`` keys every render cache on one table-wide counter that each
``update_cell`` bumps, and repaints the whole widget: a frame in which any cell
changed rendered every visible cell again through Rich (padding, styles, cropping:
about 0.3 ms a cell) and worked out the table's styles again for every line (walking
the DOM each time). The supervisor's wallboard changes cells on every visible row
twice a second (time in state), so this was most of its CPU (``bench/wallboard.py``).

:class:`LiveTable` is the same DataTable (keys, cursor, mouse, zebra stripes, the
same characters and colours on screen) with four changes, all for rows one line high
without labels, fixed rows or fixed columns (anything else is drawn by Textual's code):

* ``update_cell`` repaints the cell's row only;
* a cell is rendered once per distinct content, width and style, and reused in any
  row and frame (a state, a duration or a count repeats a lot on a floor); the row
  and column a cell belongs to, which mouse clicks read, are stamped on afterwards;
* the styles of the table and of its zebra stripes are worked out once per repaint;
* the row on a line is found by its index, not by a list of every row's lines that
  Textual rebuilds after each change.

:meth:`LiveTable.visible_row_keys` tells the caller which rows are on screen, so it can
update those and leave the others until they are scrolled to.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Self

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text, TextType
from textual._types import SegmentLines
from textual.cache import LRUCache
from textual.color import Color
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.renderables.styled import Styled
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import Column, ColumnKey, RowKey

CACHED_CELLS = 8192  # distinct renders kept; a floor of 1,000 agents shows a few hundred

# What a cached render depends on besides the cell's content, row style and width
# (worked out once per repaint): cursor shown, hover shown, padding, pseudo-classes
# (focus...), and the cursor's colour priorities.
_Settings = tuple[bool, bool, int, Hashable, str, str]


def _content(value: object) -> Hashable | None:
    """What a cell shows, as a cache key; None for a cell not cached (not exactly Text)."""
    if type(value) is not Text:
        return None
    return (value.plain, value.style, tuple(value.spans), value.justify, value.overflow,
            value.no_wrap, value.end)  # fmt: skip


class LiveTable(DataTable[Text]):
    """A ``DataTable`` of ``Text`` cells for tables that change many cells a second."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._rendered: LRUCache[Hashable, SegmentLines] = LRUCache(CACHED_CELLS)
        # Per place: the shared render last drawn there, and that render stamped with the place.
        self._stamped: dict[tuple[int, int], tuple[SegmentLines, SegmentLines]] = {}
        self._single_lines = True  # every row is one line high, none has a label
        self._quiet = False
        self._repainting: set[int] = set()  # rows marked for repaint since the last render
        self._pass: dict[Hashable, Any] | None = None  # worked out in the current render
        super().__init__(*args, **kwargs)  # last: it calls the methods overridden here

    # -- changes ------------------------------------------------------------------

    def add_row(
        self,
        *cells: Text,
        height: int | None = 1,
        key: str | None = None,
        label: TextType | None = None,
    ) -> RowKey:
        if height != 1 or label is not None:
            self._single_lines = False
        return super().add_row(*cells, height=height, key=key, label=label)

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Text,
        *,
        update_width: bool = False,
    ) -> None:
        """As DataTable's, but repaints the cell's row only (Textual repaints the table)."""
        if update_width or not self._fast():
            super().update_cell(row_key, column_key, value, update_width=update_width)
            return
        self._quiet = True
        try:
            super().update_cell(row_key, column_key, value)
        finally:
            self._quiet = False
        index = self._row_locations.get(RowKey(row_key) if isinstance(row_key, str) else row_key)
        if index is not None and index not in self._repainting:  # once per row and frame
            self._repainting.add(index)
            y = index + (self.header_height if self.show_header else 0)
            self._refresh_region(Region(0, y, max(self.size.width, self.virtual_size.width), 1))

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        if self._quiet:
            return self  # update_cell's whole-table repaint: it repaints its row instead
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def notify_style_update(self) -> None:
        # The theme or the CSS changed: cached renders carry the old colours.
        self._rendered.clear()
        self._stamped.clear()
        super().notify_style_update()

    def visible_row_keys(self) -> list[str]:
        """The keys of the rows on screen (and of one more row either side), top down."""
        first = max(self.scroll_offset.y - 1, 0)
        last = min(first + self.size.height + 2, self.row_count)
        if self._fast():
            keys = (self._row_locations.get_key(index) for index in range(first, last))
            return [key.value for key in keys if key is not None and key.value is not None]
        rows = self.ordered_rows[first:last]
        return [row.key.value for row in rows if row.key.value is not None]

    def _fast(self) -> bool:
        """Whether this table is one LiveTable draws itself (else Textual's code does)."""
        return self._single_lines and not self.fixed_rows and not self.fixed_columns

    # -- drawing ------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # Nothing restyles the table within one repaint: its styles are worked out once.
        self._pass = {}
        self._repainting.clear()
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None

    def _memo(self, key: Hashable, work: Any) -> Any:
        """``work()``, once per repaint."""
        memo = self._pass
        if memo is None:
            return work()
        if key not in memo:
            memo[key] = work()
        return memo[key]

    @property
    def rich_style(self) -> Style:
        style: Style = self._memo("style", lambda: super(LiveTable, self).rich_style)
        return style

    @property
    def background_colors(self) -> tuple[Color, Color]:
        colors: tuple[Color, Color] = self._memo(
            "background", lambda: super(LiveTable, self).background_colors
        )
        return colors

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        # The header, a fixed row, or an even or odd row: a handful of styles.
        kind = row_index if row_index < max(self.fixed_rows, 0) else -2 - row_index % 2
        style: Style = self._memo(
            ("row", kind, base_style),
            lambda: super(LiveTable, self)._get_row_style(row_index, base_style),
        )
        return style

    def _settings(self) -> _Settings:
        return (self.show_cursor, self._show_hover_cursor, self.cell_padding,
                self._pseudo_class_state, self.cursor_foreground_priority,
                self.cursor_background_priority)  # fmt: skip

    def _get_offsets(self, y: int) -> tuple[RowKey, int]:
        if not self._fast():
            return super()._get_offsets(y)
        header = self.header_height if self.show_header else 0
        if y < header:
            return self._header_row_key, y
        key = self._row_locations.get_key(y - header)
        if key is None:
            raise LookupError(f"no row on line {y}")
        return key, 0

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[SegmentLines, SegmentLines]:
        """A row's line as Textual draws it, from cached cells."""
        row_index = self._row_locations.get(row_key)
        if row_index is None or self._pass is None or not self._fast():
            return super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location, hover_location
            )
        cursor_type = self._memo("cursor_type", lambda: self.cursor_type)
        columns: list[tuple[int, Column, int]] = self._memo(
            "columns",
            lambda: [(i, c, c.get_render_width(self)) for i, c in enumerate(self.ordered_columns)],
        )
        settings: _Settings = self._memo("settings", self._settings)
        show_cursor, show_hover = settings[0], settings[1]
        row_style = self._get_row_style(row_index, base_style)
        # The cursor and the mouse highlight a whole row, a column or a cell.
        cursor_row = cursor_type == "row" and cursor_location.row == row_index
        hover_row = cursor_type == "row" and hover_location.row == row_index
        cells: SegmentLines = []
        table_width = 0
        for column_index, column, width in columns:
            table_width += width
            cursor = cursor_row or (
                cursor_type in ("cell", "column")
                and self._should_highlight(
                    cursor_location, Coordinate(row_index, column_index), cursor_type
                )
            )
            hover = hover_row or (
                cursor_type in ("cell", "column")
                and self._should_highlight(
                    hover_location, Coordinate(row_index, column_index), cursor_type
                )
            )
            lines = self._cell(row_key, column.key, row_index, column_index, row_style, width,
                               cursor, hover, settings)  # fmt: skip
            cells.append(lines[line_no])
        # The rest of the line takes the row's style (and the cursor's), as in Textual.
        if cursor_type == "row":
            extend_style, _ = self._get_styles_to_render_cell(
                False, False, False, hover_row, cursor_row, show_cursor, show_hover, False, False
            )
            extend_style = row_style + extend_style
        elif row_style.bgcolor is not None:
            faded = Color.from_rich_color(row_style.bgcolor).blend(
                self.background_colors[1], factor=0.25
            )
            extend_style = Style.from_color(color=row_style.color, bgcolor=faded.rich_color)
        else:
            extend_style = Style.from_color(row_style.color, row_style.bgcolor)
        extend_style += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        cells.append([Segment(" " * max(0, self.size.width - table_width), extend_style)])
        return [], cells

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None or not self._fast():
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        return self._cell(row_key, column_key, row_index, column_index, base_style, width,
                          cursor, hover, self._settings())  # fmt: skip

    def _cell(
        self,
        row_key: RowKey,
        column_key: ColumnKey,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
        settings: _Settings,
    ) -> SegmentLines:
        """A data cell's lines, rendered as Textual does, once per content, style and width."""
        value = self._data[row_key].get(column_key)
        content = _content(value)
        if value is None or content is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (content, base_style, width, cursor, hover, settings)
        lines = self._rendered.get(key)
        if lines is None:
            show_cursor, show_hover, padding, _, foreground, background = settings
            component_style, post_style = self._get_styles_to_render_cell(
                False, False, False, hover, cursor, show_cursor, show_hover,
                foreground == "css", background == "css",
            )  # fmt: skip
            options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
            styled = Styled(Padding(value, (0, padding)), pre_style=base_style + component_style,
                            post_style=post_style)  # fmt: skip
            lines = self._rendered[key] = self.app.console.render_lines(styled, options)
        place = (row_index, column_index)
        stamped = self._stamped.get(place)
        if stamped is None or stamped[0] is not lines:
            stamp = Style.from_meta({"row": row_index, "column": column_index})
            stamped = self._stamped[place] = (lines, [
                [Segment(text, None if control else stamp if style is None else style + stamp,
                         control)
                 for text, style, control in line]
                for line in lines
            ])  # fmt: skip
        return stamped[1]
