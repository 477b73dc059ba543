"""The one-line status header."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class GatewayHeader(Static):
    """Gateway URL, up/down, version, uptime, req/s, err/min; plus PAUSED and the active filter."""

    def show(self, text: Text) -> None:
        self.update(text)
