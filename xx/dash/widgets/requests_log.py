"""The requests log: newest first, fitted to its width; Enter opens the Exchange details.

Not a DataTable: under a flood (hundreds of exchanges a second) a DataTable cleared and
refilled on every apply measured every cell of every row and re-rendered every visible cell,
which is what made the screen lag. This is Textual's line API instead: each row is rendered
to a Strip once (cached by exchange id and layout) and only the visible lines are drawn, so
new rows arriving above shift strips rather than re-render them.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from xx.dash.layout import GUTTER, PAD, Col, clip_words, fit_forms, hidden_rows, more_text, widths_of
from xx.dash.render_requests import COLS, COLUMNS, RequestRow, route_forms

ROUTE = COLUMNS.index("route")


def _fit(row: RequestRow, i: int, width: int) -> Text:
    """Cell `i` of `row` in `width` cells: a route too long drops whole parts first (route_forms),
    built only then (most routes fit, and a flood renders every row once)."""
    cell = row.cells[i]
    if i == ROUTE and row.ex is not None and cell.cell_len > width:
        return fit_forms(route_forms(row.ex), width)
    return clip_words(cell, width)


class RequestsLog(ScrollView, can_focus=True):
    """Rows from `request_rows(...)`, rebuilt when the ring or the filter changes.

    A cursor on the top row follows the newest request; a cursor moved down stays on its
    exchange while new ones arrive above it.
    """

    DEFAULT_CSS = """
    RequestsLog { background: $surface; color: $foreground; overflow-x: hidden; }
    RequestsLog > .log--header { text-style: bold; background: $panel; color: $foreground; }
    RequestsLog > .log--cursor { background: $block-cursor-blurred-background; }
    RequestsLog:focus > .log--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: $block-cursor-text-style;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"log--header", "log--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "up", show=False),
        Binding("down", "cursor(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "cursor(-1000000)", "top", show=False),
        Binding("end", "cursor(1000000)", "bottom", show=False),
        Binding("enter", "select", "details", show=False),
    ]

    class Selected(Message):
        """Enter (or a click on the cursor row): show this exchange's details."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._full: list[RequestRow] = []
        self._shown: list[RequestRow] = []
        self.cols: list[Col] = []
        self.widths: list[int] = []
        self.cursor_row = 0
        self._strips: dict[str, Strip] = {}
        self._clipped: dict[str, RequestRow] = {}
        self._lens: dict[str, tuple[int, ...]] = {}
        self._strip_width = -1

    # ---- data -----------------------------------------------------------------------------

    def show(self, rows: list[RequestRow]) -> None:
        if [r.key for r in rows] == [r.key for r in self._full] and self.cols:
            return
        keep = self.selected_key if self.cursor_row > 0 else None
        self._full = rows
        self._fit()
        index = next((i for i, r in enumerate(self._shown) if r.key == keep), 0) if keep else 0
        self.cursor_row = min(index, max(0, len(self._shown) - 1))

    def _fit(self) -> None:
        """Columns for this width; rows clipped, measured and drawn once per layout (cached by id)."""
        width = self.size.width or self.app.size.width
        lens = [self._lens.get(r.key) or self._lens.setdefault(r.key, tuple(c.cell_len for c in r.cells))
                for r in self._full]
        cols, widths = widths_of(COLS, lens, width)
        if (cols, widths, width - GUTTER) != (self.cols, self.widths, self._strip_width):
            self._strips.clear()
            self._clipped.clear()
        index = [COLS.index(c) for c in cols]
        shown = []
        for r in self._full:
            row = self._clipped.get(r.key)
            if row is None:
                cells = tuple(_fit(r, i, w) for i, w in zip(index, widths, strict=True))
                row = self._clipped[r.key] = RequestRow(r.key, cells)
            shown.append(row)
        self.cols, self.widths, self._shown, self._strip_width = cols, widths, shown, width - GUTTER
        live = {r.key for r in shown}
        for cache in (self._strips, self._clipped, self._lens):  # bounded by the rows shown
            for key in [k for k in cache if k not in live]:
                del cache[key]
        self.virtual_size = Size(width - GUTTER, len(shown) + 1)
        self.update_hint()
        self.refresh()

    def on_resize(self, _: events.Resize) -> None:
        self._fit()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.update_hint()

    def update_hint(self) -> None:
        """`+40 more ↓` in the top border instead of a scrollbar (whose thumb reads as a stray glyph)."""
        visible = self.scrollable_content_region.height - 1  # the header line
        if visible < 0:
            return
        hint = more_text(*hidden_rows(len(self._shown), round(self.scroll_y), visible))
        if hint != (self.border_title or ""):
            self.border_title = hint or None

    # ---- drawing --------------------------------------------------------------------------

    def _line(self, cells: tuple[Text, ...] | list[Text], style: Style) -> Strip:
        out = Text(no_wrap=True, end="")
        for cell, w in zip(cells, self.widths, strict=False):
            out.append(" ")
            out.append_text(cell)
            out.append(" " * (w - cell.cell_len + PAD - 1))
        segments = [s for s in out.render(self.app.console) if s.text != "\n"]
        strip = Strip(segments).extend_cell_length(self._strip_width).crop(0, self._strip_width)
        return strip.apply_style(style)

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        if y == 0:
            header = self.get_component_rich_style("log--header")
            return self._line([Text(c.label) for c in self.cols], base + header)
        index = self.scroll_offset.y + y - 1
        if not 0 <= index < len(self._shown):
            return Strip.blank(self.size.width, base)
        row = self._shown[index]
        strip = self._strips.get(row.key)
        if strip is None:
            strip = self._strips[row.key] = self._line(row.cells, base)
        if index == self.cursor_row:
            cursor = self.get_component_rich_style("log--cursor")
            strip = Strip([Segment(s.text, (s.style or Style()) + cursor) for s in strip])
        return strip

    # ---- cursor ---------------------------------------------------------------------------

    def move_cursor(self, *, row: int, animate: bool = False, scroll: bool = True) -> None:
        self.cursor_row = max(0, min(row, len(self._shown) - 1))
        if scroll:
            top, height = self.scroll_offset.y, max(1, self.size.height - 1)
            if self.cursor_row < top:
                self.scroll_to(y=self.cursor_row, animate=animate)
            elif self.cursor_row >= top + height:
                self.scroll_to(y=self.cursor_row - height + 1, animate=animate)
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(row=self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(row=self.cursor_row + direction * max(1, self.size.height - 2))

    def action_select(self) -> None:
        if self.selected_key is not None:
            self.post_message(self.Selected(self.selected_key))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)  # inside the border, or None
        if offset is None or offset.y < 1:
            return
        index = self.scroll_offset.y + offset.y - 1
        if not 0 <= index < len(self._shown):
            return
        if index == self.cursor_row:
            self.action_select()
        self.move_cursor(row=index, scroll=False)

    # ---- for the app and the tests ----------------------------------------------------------

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self._shown]

    @property
    def selected_key(self) -> str | None:
        if not self._shown or not (0 <= self.cursor_row < len(self._shown)):
            return None
        return self._shown[self.cursor_row].key

    selected_id = selected_key

    def column_keys(self) -> list[str]:
        return [c.key for c in self.cols]

    def drawn_width(self) -> int:
        return sum(w + PAD for w in self.widths)

    def row_text(self, index: int) -> list[str]:
        """Row `index` in full (unclipped), every column."""
        return [c.plain for c in self._full[index].cells]

    def shown_text(self, index: int) -> list[str]:
        """Row `index` as displayed (clipped), one string per visible column."""
        return [c.plain for c in self._shown[index].cells]

    def full_text(self, index: int) -> list[str]:
        """Row `index` before clipping at a word, for the visible columns only.

        The route cell is the form `fit_forms` chose for this width (whole parts of the full
        route dropped, see `route_forms`): what a clipped cell must be a whole-word prefix of.
        """
        row, out = self._full[index], []
        for c, w in zip(self.cols, self.widths, strict=True):
            i = COLUMNS.index(c.key)
            cell = row.cells[i]
            if i == ROUTE and row.ex is not None and cell.cell_len > w:
                forms = route_forms(row.ex)
                cell = next((f for f in forms if f.cell_len <= w), forms[-1])
            out.append(cell.plain)
        return out
