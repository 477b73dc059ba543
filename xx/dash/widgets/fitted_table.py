"""A DataTable whose columns always fit its width: the base of the models table and the requests log.

It keeps the full rows it was given and, on every `show` and every resize, asks the pure
`fit` function which columns fit and how wide, then clips cells at word boundaries. The
columns are rebuilt only when that choice changes, so a steady stream of rows costs no more
than before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from xx.dash.layout import Col


class Row(NamedTuple):
    key: str
    cells: tuple[Text, ...]


Fit = Callable[[list[Any], int], tuple[list[Col], list[int], list[Any]]]


class FittedTable(DataTable[object]):
    def __init__(self, fit: Fit, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fit = fit
        self._full: list[Any] = []
        self._shown: list[Any] = []
        self._layout: tuple[tuple[str, ...], tuple[int, ...]] | None = None
        self.cols: list[Col] = []

    def on_resize(self, _: events.Resize) -> None:
        self._redraw(force=True)

    def set_rows(self, rows: Sequence[Any]) -> bool:
        """Show `rows` (unclipped); False when they equal what is shown (nothing done)."""
        rows = list(rows)
        if rows == self._full and self._layout is not None:
            return False
        self._full = rows
        self._redraw()
        return True

    def _width(self) -> int:
        return self.size.width or self.app.size.width

    def _redraw(self, force: bool = False) -> None:
        cols, widths, clipped = self._fit(self._full, self._width())
        layout = (tuple(c.key for c in cols), tuple(widths))
        if not force and clipped == self._shown and layout == self._layout:
            return
        if layout == self._layout and [r.key for r in clipped] == [r.key for r in self._shown]:
            self._update_cells(clipped)  # same rows in the same order: touch only what changed
            return
        keep = self._keep()
        if layout != self._layout:
            self.clear(columns=True)
            for col, w in zip(cols, widths, strict=True):
                self.add_column(col.label, width=w, key=col.key)
            self._layout = layout
            self.cols = cols
        else:
            self.clear()
        self._shown = clipped
        for row in clipped:
            self.add_row(*row.cells, key=row.key)
        self._restore(keep)

    def _update_cells(self, rows: list[Any]) -> None:
        for old, new in zip(self._shown, rows, strict=True):
            for col, a, b in zip(self.cols, old.cells, new.cells, strict=True):
                if a != b:
                    self.update_cell(new.key, col.key, b)
        self._shown = rows

    def _keep(self) -> str | None:
        """The key the cursor should stay on across a rebuild (subclasses choose)."""
        return self.selected_key

    def _restore(self, key: str | None) -> None:
        if key is not None:
            index = next((i for i, r in enumerate(self._shown) if r.key == key), 0)
            self.move_cursor(row=index, animate=False, scroll=False)

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self._shown]

    @property
    def selected_key(self) -> str | None:
        if not self._shown or not (0 <= self.cursor_row < len(self._shown)):
            return None
        return self._shown[self.cursor_row].key

    def column_keys(self) -> list[str]:
        return [c.key for c in self.cols]

    def shown_text(self, index: int) -> list[str]:
        """Row `index` as displayed (clipped), one string per visible column."""
        return [c.plain for c in self._shown[index].cells]

    def full_text(self, index: int) -> list[str]:
        """Row `index` before clipping, for the visible columns only."""
        full = self._full[index]
        keys = [c.key for c in self.cols]
        return [full.cells[self._all_keys().index(k)].plain for k in keys]

    def _all_keys(self) -> list[str]:
        raise NotImplementedError
