"""The cache panel: cached share now/10m/60m, the hour as a sparkline, class counts, savings."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


class CachePanel(Vertical):
    """Summary lines (with the hour as a sparkline) and an optional per-agent/per-model table.

    The parts are created here and held, never queried: `show` may run from a timer while
    the app is tearing down, when a query would find nothing.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.summary = Static(id="cache-summary")
        self.breakdown = Static(id="cache-breakdown")

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.breakdown

    def show(self, summary: Text, breakdown: RenderableType | None) -> None:
        self.summary.update(summary)
        self.breakdown.display = breakdown is not None
        if breakdown is not None:
            self.breakdown.update(breakdown)

    @property
    def summary_text(self) -> str:
        return str(self.summary.render())
