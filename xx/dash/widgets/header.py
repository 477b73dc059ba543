"""The two-line status header."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class GatewayHeader(Static):
    """Status line and identity line; repainted only when the text changes, never re-laid out (fixed height)."""

    _last: Text | None = None

    def show(self, text: Text) -> None:
        if text == self._last:
            return
        self._last = text
        self.update(text, layout=False)
