"""Small pure formatters shared by the panels: numbers that fit in a narrow column."""

from __future__ import annotations

import time


def duration(seconds: float | None) -> str:
    """`42s`, `3m05s`, `2h03m`, `3d04h`: the two most significant units."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1000:
        return f"{value:.0f}ms"
    if value < 100_000:
        return f"{value / 1000:.1f}s"
    return f"{value / 1000:.0f}s"


def tokens(n: float | None) -> str:
    if n is None:
        return "-"
    n = float(n)
    if n < 1000:
        return f"{n:.0f}"
    if n < 100_000:
        return f"{n / 1000:.1f}k"
    if n < 1_000_000:
        return f"{n / 1000:.0f}k"
    return f"{n / 1_000_000:.1f}M"


def pct(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.0f}%"


def usd(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) < 10:
        return f"${value:.3f}"
    return f"${value:,.2f}"


def clock(epoch: float | None) -> str:
    """Local wall-clock time: what the user's own clock shows."""
    return "-" if epoch is None else time.strftime("%H:%M:%S", time.localtime(epoch))


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
