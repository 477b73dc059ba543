"""The models table: health, quota and breaker state per model, fitted to its width."""

from __future__ import annotations

from typing import Any

from xx.dash.layout import fit_rows
from xx.dash.render_models import COLS, COLUMNS, ModelRow
from xx.dash.widgets.fitted_table import FittedTable


def _fit(rows: list[ModelRow], width: int) -> tuple[list[Any], list[int], list[ModelRow]]:
    cols, ws, cells = fit_rows(COLS, [r.cells for r in rows], width)
    return cols, ws, [ModelRow(r.key, tuple(c)) for r, c in zip(rows, cells, strict=True)]


class ModelsTable(FittedTable):
    """Rebuilt from `model_rows(...)`; the cursor stays on the same model across refreshes."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(_fit, cursor_type="row", zebra_stripes=True, **kwargs)

    def show(self, rows: list[ModelRow]) -> None:
        self.set_rows(rows)

    def _all_keys(self) -> list[str]:
        return list(COLUMNS)

    @property
    def selected_model(self) -> str | None:
        return self.selected_key

    def cell_text(self, model: str, column: str) -> str:
        """The full text of a model's cell in a column (by key: "state", "quota", ...)."""
        row = next((r for r in self._full if r.key == model), None)
        return "" if row is None else row.cells[COLUMNS.index(column)].plain
