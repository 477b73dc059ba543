"""The requests log: newest first, fitted to its width; Enter opens the Exchange details."""

from __future__ import annotations

from xx.dash.render_requests import COLUMNS, RequestRow, fit_requests
from xx.dash.widgets.fitted_table import FittedTable


class RequestsLog(FittedTable):
    """Rebuilt from `request_rows(...)` when the ring or the filter changes.

    A cursor on the top row follows the newest request; a cursor moved down stays on its
    exchange while new ones arrive above it.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(fit_requests, cursor_type="row", **kwargs)

    def show(self, rows: list[RequestRow]) -> None:
        if [r.key for r in rows] == [r.key for r in self._full] and self._layout is not None:
            return
        self.set_rows(rows)

    def _keep(self) -> str | None:
        return self.selected_key if self.cursor_row > 0 else None

    def _all_keys(self) -> list[str]:
        return list(COLUMNS)

    @property
    def selected_id(self) -> str | None:
        return self.selected_key

    def row_text(self, index: int) -> list[str]:
        """Row `index` in full (unclipped), every column."""
        return [c.plain for c in self._full[index].cells]
