"""The cache panel as pure functions: is the prompt cache paying, now and over the hour?

"Cached share" is cache_read / input tokens (input counts cached tokens too, per the Usage
contract), so 0.8 means four fifths of the prompt was billed at the cache-read price.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from xx.dash import fmt
from xx.dash.render_requests import CACHE_STYLES

CLASSES = ("HIT", "PARTIAL", "MISS", "COLD", "NOUSAGE", "REPLAY")
BREAKDOWNS = ("total", "agent", "model")  # the `c` key cycles through these
SPARK = "▁▂▃▄▅▆▇█"


def _share_style(ratio: float | None) -> str:
    return "dim" if ratio is None else "bold green" if ratio >= 0.6 else "yellow" if ratio >= 0.3 else "red"


def _minute(t: float) -> int:
    return int(t // 60) * 60


def _ratio(cached: float, total: float) -> float | None:
    return cached / total if total > 0 else None


def sparkline_series(
    series: Iterable[Mapping[str, Any]], now: float, minutes: int = 60
) -> list[float | None]:
    """One cached share per minute, oldest first, ending at the current minute; None for a quiet minute."""
    end = _minute(now)
    start = end - (minutes - 1) * 60
    buckets: list[float | None] = [None] * minutes
    for b in series:
        t = _minute(float(b.get("t") or 0))
        if start <= t <= end:
            buckets[(t - start) // 60] = _ratio(float(b.get("cache_read") or 0), float(b.get("input") or 0))
    return buckets


def spark_text(values: Iterable[float | None]) -> Text:
    """Shares in [0, 1] as block characters on a fixed scale (so 50% always looks like 50%); `·` is a quiet minute."""
    out = Text()
    for v in values:
        if v is None:
            out.append("·", style="dim")
        else:
            v = min(1.0, max(0.0, v))
            out.append(SPARK[min(len(SPARK) - 1, int(v * len(SPARK)))], style=_share_style(v))
    return out


def window_ratio(series: Iterable[Mapping[str, Any]], now: float, minutes: int) -> float | None:
    """Cached share of all input tokens over the last `minutes` minutes (None when there was none)."""
    start = _minute(now) - (minutes - 1) * 60
    cached = total = 0.0
    for b in series:
        if float(b.get("t") or 0) >= start:
            cached += float(b.get("cache_read") or 0)
            total += float(b.get("input") or 0)
    return _ratio(cached, total)


def live_ratio(requests: Iterable[Mapping[str, Any]], now: float, seconds: float = 60.0) -> float | None:
    """Cached share over the exchanges that ended in the last minute: the 'now' figure, live from events."""
    cached = total = 0.0
    for ex in requests:  # newest first: stop at the first one that is too old
        ended = ex.get("ended") or ex.get("started") or 0
        if now - float(ended) > seconds:
            break
        usage = ex.get("usage") or {}
        cached += float(usage.get("cache_read") or 0)
        total += float(usage.get("input") or 0)
    return _ratio(cached, total)


def spark_span(width: int, now: float, started: float | None = None) -> tuple[int, str]:
    """How many one-minute buckets the sparkline draws in `width` cells, and the time they span.

    The label is what the buckets cover, never more than the gateway has been up: a gateway
    up 8 s draws one bucket labelled `8s`, not a row of empty minutes labelled `51m`.
    """
    fit = max(1, min(60, width - len("60m ago ") - len(" now  ▁0 █100%")))
    if started is None or started > now:
        return fit, f"{fit}m"
    buckets = min(fit, (_minute(now) - _minute(started)) // 60 + 1)
    span = min(buckets * 60, now - started)
    return buckets, f"{int(span)}s" if span < 60 else f"{int(span // 60)}m"


def _ratio_text(label: str, ratio: float | None) -> Text:
    return Text.assemble((label + " ", "dim") if label else "", (fmt.pct(ratio), _share_style(ratio)))


def cache_summary(
    stats: Mapping[str, Any] | None,
    requests: Sequence[Mapping[str, Any]],
    now: float | None = None,
    width: int = 80,
    started: float | None = None,
) -> Text:
    """Four short lines: shares (now/10m/60m/today), the hour per minute, class counts, savings today.

    The per-minute line has as many minutes as fit in `width` (at most 60, none from before the
    gateway `started`), labelled with the time it really spans, with its scale.
    """
    now = time.time() if now is None else now
    cache = (stats or {}).get("cache") or {}
    series = cache.get("series") or []
    out = Text()
    out.append("cached ", style="bold")
    parts = [
        _ratio_text("now", live_ratio(requests, now)),
        _ratio_text("10m", window_ratio(series, now, 10)),
        _ratio_text("60m", window_ratio(series, now, 60)),
        _ratio_text("today", cache.get("hit_ratio")),
    ]
    out.append(Text("  ").join(parts))
    minutes, span = spark_span(width, now, started)
    out.append(f"\n{span} ago ", style="dim")
    out.append(spark_text(sparkline_series(series, now, minutes)))
    out.append(" now  ▁0 █100%\n", style="dim")
    classes = cache.get("classes") or {}
    counts = [
        Text.assemble((c, CACHE_STYLES[c]), f" {classes.get(c, 0)}")
        for c in CLASSES
        if c != "REPLAY" or classes.get(c)
    ]
    out.append(Text(" ").join(counts))
    out.append("\n")
    out.append("saved ", style="bold")
    out.append(f"{fmt.tokens(cache.get('cache_read'))} tok ", style="green")
    out.append(fmt.usd(cache.get("saved_usd")), style="bold green")
    out.append(
        f"  of {fmt.tokens(cache.get('input_tokens'))} in · cost {fmt.usd(cache.get('cost_usd'))}",
        style="dim",
    )
    return out


def breakdown_table(stats: Mapping[str, Any] | None, by: str) -> Table | None:
    """Per agent or per model: requests, cached share, tokens read from cache, dollars saved."""
    if by not in ("agent", "model"):
        return None
    groups: Mapping[str, Mapping[str, Any]] = (stats or {}).get(f"by_{by}") or {}
    t = Table(expand=True, show_edge=False, pad_edge=False, box=None)
    for col, justify in (
        (by, "left"),
        ("req", "right"),
        ("err", "right"),
        ("hit", "right"),
        ("cached", "right"),
        ("saved", "right"),
    ):
        t.add_column(col, justify=justify, header_style="bold")  # type: ignore[arg-type]
    ordered = sorted(groups.items(), key=lambda kv: -float(kv[1].get("requests") or 0))
    for name, g in ordered:
        ratio = g.get("hit_ratio")
        t.add_row(
            fmt.clip(name, 18),
            str(g.get("requests", 0)),
            Text(str(g.get("errors", 0)), style="red" if g.get("errors") else "dim"),
            _ratio_text("", ratio),
            fmt.tokens(g.get("cache_read")),
            fmt.usd(g.get("saved_usd")),
        )
    return t
