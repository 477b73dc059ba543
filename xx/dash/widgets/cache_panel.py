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
        self._last: Text | None = None
        self._height = -1

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.breakdown

    def show(self, summary: Text, breakdown: RenderableType | None) -> None:
        if summary != self._last:
            # A new layout only when the wrapped height changes: a layout pass costs the whole screen.
            width = max(1, self.summary.size.width or 80)
            height = sum(-(-max(1, len(line)) // width) for line in summary.plain.split("\n"))
            self.summary.update(summary, layout=height != self._height)
            self._last, self._height = summary, height
        self.breakdown.display = breakdown is not None
        if breakdown is not None:
            self.breakdown.update(breakdown)

    def content_width(self, screen: int, wide_from: int, roomy_from: int) -> int:
        """The summary's width in cells; before the first layout, what dash.tcss will give it.

        Measured too early, the panel is 0 wide and a sparkline sized for the whole screen
        would wrap inside the 56-cell side panel.
        """
        if self.summary.size.width:
            return self.summary.size.width
        panel = 72 if screen >= roomy_from else 56 if screen >= wide_from else screen
        return max(20, panel - 2 - (screen >= wide_from))  # padding, and the border beside the models

    @property
    def summary_text(self) -> str:
        return str(self.summary.render())
