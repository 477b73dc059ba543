"""The models table as pure data: one row of Rich cells per `/xx/models` row, trouble first.

A state is always a symbol and a word as well as a colour, so it reads on a monochrome
terminal and to colour-blind users; time-bound states carry their countdown (`cooling 23s`),
which is why `now` is an argument rather than read here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from rich.text import Text

from xx.dash import fmt

# state -> (sort priority: lower is more urgent, symbol, word, style)
STATES: dict[str, tuple[int, str, str, str]] = {
    "open": (0, "✖", "open", "bold red"),
    "quota": (1, "⊘", "quota", "bold red"),
    "cooling": (2, "◷", "cooling", "yellow"),
    "half_open": (3, "◑", "half-open", "magenta"),
    "degraded": (4, "◐", "degraded", "yellow"),
    "unconfigured": (5, "○", "no key", "dim"),
    "healthy": (6, "●", "healthy", "green"),
}
UNKNOWN = (7, "?", "unknown", "dim")

COLUMNS = ("model", "tiers", "state", "ok", "p50", "ttfb", "today", "min", "cache", "last error")


class ModelRow(NamedTuple):
    key: str
    cells: tuple[Text, ...]


def sort_key(row: Mapping[str, Any]) -> tuple[int, str]:
    """Trouble at the top; ties by name so rows do not jump between refreshes."""
    return (STATES.get(str(row.get("state")), UNKNOWN)[0], str(row.get("name", "")))


def tiers_text(tiers: Mapping[str, Iterable[str]] | None) -> str:
    """`{"free": ["big", "middle"]}` -> `free:big,middle`."""
    if not tiers:
        return "-"
    return " ".join(f"{t}:{','.join(roles)}" for t, roles in tiers.items())


def _reset_at(row: Mapping[str, Any]) -> float | None:
    rpd = row.get("rpd") or {}
    return row.get("until") or (rpd.get("reset_at") if isinstance(rpd, Mapping) else None)


def state_text(row: Mapping[str, Any], now: float | None = None) -> Text:
    """`✖ open 41s`, `◷ cooling 23s`, `⊘ quota →00:00`, `● healthy`."""
    now = time.time() if now is None else now
    state = str(row.get("state") or "")
    _, symbol, word, style = STATES.get(state, UNKNOWN)
    if state not in STATES and state:
        word = state
    label = f"{symbol} {word}"
    until = row.get("until")
    if state in ("cooling", "open") and until:
        label += f" {fmt.duration(float(until) - now)}"
    elif state == "quota":
        reset = _reset_at(row)
        if reset:
            label += f" →{time.strftime('%H:%M', time.localtime(float(reset)))}"
    return Text(label, style=style)


def used_of(window: Mapping[str, Any] | None) -> str:
    """`12/50`, or `12` when the window has no limit."""
    if not isinstance(window, Mapping):
        return "-"
    used, limit = window.get("used"), window.get("limit")
    if used is None:
        return "-"
    return f"{used}/{limit}" if limit else str(used)


def _window_style(window: Mapping[str, Any] | None) -> str:
    if not isinstance(window, Mapping) or not window.get("limit"):
        return ""
    share = (window.get("used") or 0) / window["limit"]
    return "bold red" if share >= 1 else "yellow" if share >= 0.8 else ""


def _rate_style(rate: float | None) -> str:
    if rate is None:
        return "dim"
    return "green" if rate >= 0.95 else "yellow" if rate >= 0.8 else "red"


def model_row(row: Mapping[str, Any], now: float | None = None) -> ModelRow:
    name = str(row.get("name", "?"))
    rate = row.get("success_rate")
    error = row.get("detail") or row.get("last_error") or ""
    hit = row.get("cache_hit_ratio")
    cells = (
        Text(name, style="bold"),
        Text(fmt.clip(tiers_text(row.get("tiers")), 30), style="cyan"),
        state_text(row, now),
        Text(fmt.pct(rate), style=_rate_style(rate)),
        Text(fmt.ms(row.get("p50_ms"))),
        Text(fmt.ms(row.get("ttfb_p50_ms"))),
        Text(used_of(row.get("rpd")), style=_window_style(row.get("rpd"))),
        Text(used_of(row.get("rpm")), style=_window_style(row.get("rpm"))),
        Text(fmt.pct(hit), style="green" if hit and hit >= 0.5 else ""),
        Text(fmt.clip(str(error), 48), style="red" if error else ""),
    )
    return ModelRow(name, cells)


def model_rows(
    models: Mapping[str, Mapping[str, Any]] | Iterable[Mapping[str, Any]], now: float | None = None
) -> list[ModelRow]:
    """Every model, sorted so the ones needing attention come first."""
    rows = list(models.values()) if isinstance(models, Mapping) else list(models)
    return [model_row(r, now) for r in sorted(rows, key=sort_key)]


def trouble_count(models: Mapping[str, Mapping[str, Any]]) -> int:
    """Models that will not take traffic right now (for the header)."""
    return sum(1 for r in models.values() if STATES.get(str(r.get("state")), UNKNOWN)[0] <= 2)
