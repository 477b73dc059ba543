"""The models table: health, quota and breaker state per model."""

from __future__ import annotations

from textual.widgets import DataTable

from xx.dash.render_models import COLUMNS, ModelRow


class ModelsTable(DataTable[object]):
    """Rebuilt from `model_rows(...)`; the cursor stays on the same model across refreshes."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._shown: list[ModelRow] = []

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def show(self, rows: list[ModelRow]) -> None:
        if rows == self._shown:
            return
        keep = self.selected_model
        self._shown = rows
        self.clear()
        for row in rows:
            self.add_row(*row.cells, key=row.key)
        if keep is not None:
            index = next((i for i, r in enumerate(rows) if r.key == keep), 0)
            self.move_cursor(row=index, animate=False)

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self._shown]

    @property
    def selected_model(self) -> str | None:
        if not self._shown or not (0 <= self.cursor_row < len(self._shown)):
            return None
        return self._shown[self.cursor_row].key

    def cell_text(self, model: str, column: int) -> str:
        """The plain text shown for a model in one column (for tests and the help line)."""
        row = next((r for r in self._shown if r.key == model), None)
        return "" if row is None else row.cells[column].plain
