"""The models table: health, quota and breaker state per model, fitted to its width."""

from __future__ import annotations

from typing import Any

from xx.dash.layout import fit_rows, hidden_rows, more_text
from xx.dash.render_models import COLS, COLUMNS, ModelRow
from xx.dash.widgets.fitted_table import FittedTable


def _fit(rows: list[ModelRow], width: int) -> tuple[list[Any], list[int], list[ModelRow]]:
    cols, ws, cells = fit_rows(COLS, [r.cells for r in rows], width)
    return cols, ws, [ModelRow(r.key, tuple(c)) for r, c in zip(rows, cells, strict=True)]


class ModelsTable(FittedTable):
    """Rebuilt from `model_rows(...)`; the cursor stays on the same model across refreshes."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(_fit, cursor_type="row", zebra_stripes=True, **kwargs)
        self.hint = ""  # what the bottom border says about hidden rows

    def show(self, rows: list[ModelRow]) -> None:
        self.set_rows(rows)
        self.call_after_refresh(self.update_hint)

    def on_resize(self, _: object) -> None:
        self._redraw(force=True)
        self.call_after_refresh(self.update_hint)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.update_hint()

    def update_hint(self) -> None:
        """`+9 more ↓` in the bottom border while rows are hidden (trouble is sorted first, so on top)."""
        visible = self.scrollable_content_region.height - 1  # the header row
        if visible < 0:
            return
        # The hint's own border line takes a row: without this, one early frame that hid a row would keep the
        # border, and the border would keep that row hidden for good.
        if self.has_class("-more") and self.scroll_y == 0 and len(self._shown) <= visible + 1:
            visible += 1
        hint = more_text(*hidden_rows(len(self._shown), round(self.scroll_y), visible))
        self.hint = hint
        self.border_subtitle = hint or None
        self.set_class(bool(hint), "-more")

    def _all_keys(self) -> list[str]:
        return list(COLUMNS)

    @property
    def selected_model(self) -> str | None:
        return self.selected_key

    def cell_text(self, model: str, column: str) -> str:
        """The full text of a model's cell in a column (by key: "state", "quota", ...)."""
        row = next((r for r in self._full if r.key == model), None)
        return "" if row is None else row.cells[COLUMNS.index(column)].plain
