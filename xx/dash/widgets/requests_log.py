"""The requests log: newest first; Enter opens the Exchange details."""

from __future__ import annotations

from textual.widgets import DataTable

from xx.dash.render_requests import COLUMNS, RequestRow


class RequestsLog(DataTable[object]):
    """Rebuilt from `request_rows(...)` when the ring or the filter changes.

    A cursor on the top row follows the newest request; a cursor moved down stays on its
    exchange while new ones arrive above it.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", **kwargs)  # type: ignore[arg-type]
        self._shown: list[RequestRow] = []

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def show(self, rows: list[RequestRow]) -> None:
        if [r.key for r in rows] == [r.key for r in self._shown]:
            return
        keep = self.selected_id if self.cursor_row > 0 else None
        self._shown = rows
        self.clear()
        for row in rows:
            self.add_row(*row.cells, key=row.key)
        if keep is not None:
            index = next((i for i, r in enumerate(rows) if r.key == keep), 0)
            self.move_cursor(row=index, animate=False, scroll=False)

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self._shown]

    @property
    def selected_id(self) -> str | None:
        if not self._shown or not (0 <= self.cursor_row < len(self._shown)):
            return None
        return self._shown[self.cursor_row].key

    def row_text(self, index: int) -> list[str]:
        return [c.plain for c in self._shown[index].cells]
