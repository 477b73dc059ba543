"""Small plots with axes and a scale: request rate, p50 latency, cache share and errors, per minute.

Block characters in eighths give each minute a bar with 8×height levels; the y axis names the
top of the scale and zero, the x axis marks minutes ago. A quiet minute is a `·` on the axis,
so "no data" never looks like "zero".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from xx.dash import fmt
from xx.dash.series import ALL, MinuteSeries, from_stats

BLOCKS = " ▁▂▃▄▅▆▇█"
YW = 7  # width of the y-axis labels

PANELS: tuple[tuple[str, str, Callable[[float], str], str], ...] = (
    ("rate", "requests per minute", lambda v: f"{v:.0f}", "cyan"),
    ("p50", "p50 latency", fmt.ms, "yellow"),
    ("cache", "cache share of input tokens", lambda v: f"{v * 100:.0f}%", "green"),
    ("errors", "errors per minute", lambda v: f"{v:.0f}", "red"),
)


def plot(
    values: Sequence[float | None],
    title: str,
    label: Callable[[float], str],
    style: str = "",
    height: int = 3,
    top: float | None = None,
) -> Text:
    """A bar chart of `values` (one column each, oldest first) with labelled y and x axes."""
    present = [v for v in values if v is not None]
    vmax = top if top is not None else max(present, default=0.0)
    levels = height * 8
    out = Text()
    out.append(f"{title}", style="bold")
    last = next((v for v in reversed(values) if v is not None), None)
    out.append(f"   now {label(last) if last is not None else '-'}   max {label(max(present, default=0.0))}\n", style="dim")
    for r in range(height):
        ylab = label(vmax) if r == 0 else ("0" if r == height - 1 and vmax else "")
        out.append(f"{ylab:>{YW}} ┤", style="dim")
        floor = (height - 1 - r) * 8
        for v in values:
            if v is None:
                out.append("·" if r == height - 1 else " ", style="dim")
                continue
            level = round(v / vmax * levels) if vmax > 0 else 0
            if v > 0 and level == 0:
                level = 1  # something happened: never draw it as nothing
            out.append(BLOCKS[max(0, min(8, level - floor))], style=style)
        out.append("\n")
    n = len(values)
    axis = [" "] * n
    marks = {0: f"-{n}m", n // 2: f"-{n - n // 2}m", n - 3: "now"}
    for pos, mark in marks.items():
        for i, ch in enumerate(mark):
            if 0 <= pos + i < n:
                axis[pos + i] = ch
    out.append(" " * YW + " └" + "─" * n + "\n", style="dim")
    out.append(" " * (YW + 2) + "".join(axis), style="dim")
    return out


def plots(
    series: MinuteSeries, model: str | None, stats: Mapping[str, Any] | None, now: float, width: int
) -> RenderableType:
    """The four plots for one model, or for all of them (then the gateway's own counts where it has them)."""
    minutes = max(10, min(60, width - YW - 3))
    key = model or ALL
    parts: list[RenderableType] = []
    for metric, title, label, style in PANELS:
        values = (None if model else from_stats(stats, metric, now, minutes)) or series.points(
            key, metric, now, minutes
        )
        parts.append(plot(values, title, label, style, top=1.0 if metric == "cache" else None))
        parts.append(Text(""))
    if model and key not in series.keys:
        parts.insert(0, Text(f"no requests served by {model} since the dashboard started", style="dim"))
    return Group(*parts)
