"""The models table as pure data: one row of Rich cells per `/xx/models` row, trouble first.

A state is always a symbol and a word as well as a colour, so it reads on a monochrome
terminal and to colour-blind users; time-bound states carry their countdown (`cooling 23s`),
which is why `now` is an argument rather than read here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from rich.table import Table as Table_
from rich.text import Text

from xx.dash import fmt
from xx.dash.layout import Col

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

COLS = (
    Col("model", "model"),
    Col("state", "state"),
    Col("ok", "ok"),
    Col("req", "req", priority=3),
    Col("p50", "p50"),
    Col("ttfb", "ttfb", priority=2),
    Col("quota", "quota"),
    Col("cache", "cache"),
    Col("provider", "provider", priority=4, max_width=14),
    Col("error", "last error", flex=True, min_width=24),
)
COLUMNS = tuple(c.key for c in COLS)
POOL_MARK = "◆"  # the quota shown is a shared pool's, not the model's own
WINDOW_UNITS = {"rpm": "/m", "rpd": "/d", "tpm": "tpm"}


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


def binding_window(row: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """The window (rpm, rpd or tpm) closest to its limit: the one that will stop this model first."""
    best: tuple[float, str, Mapping[str, Any]] | None = None
    for kind in ("rpd", "rpm", "tpm"):
        w = row.get(kind)
        if isinstance(w, Mapping) and w.get("limit"):
            share = float(w.get("used") or 0) / float(w["limit"])
            if best is None or share > best[0]:
                best = (share, kind, w)
    return None if best is None else (best[1], best[2])


def _short(n: Any) -> str:
    """1000 -> 1k, 14400 -> 14k: limits are round numbers, so this loses nothing that matters."""
    n = int(n)
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def quota_text(row: Mapping[str, Any]) -> Text:
    """`838/1000/d`, `◆30/50/d` (a pool's quota, shared with other models), `-` without limits."""
    found = binding_window(row)
    if found is None:
        return Text("-", style="dim")
    kind, w = found
    used, limit = w.get("used") or 0, w["limit"]
    if kind == "tpm":
        body = f"{fmt.tokens(used)}/{fmt.tokens(limit)}tpm"
    else:
        body = f"{used}/{_short(limit)}{WINDOW_UNITS[kind]}"
    pool = str(w.get("scope") or "").startswith("pool")
    return Text((POOL_MARK if pool else "") + body, style=_window_style(w))


def error_text(row: Mapping[str, Any]) -> Text:
    """Why the model is not healthy, else its last error, else nothing."""
    error = row.get("detail") or row.get("last_error") or ""
    return Text(" ".join(str(error).split()), style="red" if error else "")


def model_row(row: Mapping[str, Any], now: float | None = None) -> ModelRow:
    """All the cells a wide screen could show, in `COLS` order; the ModelsTable picks what fits."""
    name = str(row.get("name", "?"))
    rate = row.get("success_rate")
    hit = row.get("cache_hit_ratio")
    cells = (
        Text(name, style="bold"),
        state_text(row, now),
        Text(fmt.pct(rate), style=_rate_style(rate)),
        Text(str(row.get("requests", "-"))),
        Text(fmt.ms(row.get("p50_ms"))),
        Text(fmt.ms(row.get("ttfb_p50_ms"))),
        quota_text(row),
        Text(fmt.pct(hit), style="green" if hit and hit >= 0.5 else ""),
        Text(str(row.get("provider") or "-"), style="dim"),
        error_text(row),
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


def _window_line(kind: str, w: Any) -> str:
    if not isinstance(w, Mapping):
        return "-"
    scope = f"  ({w['scope']})" if w.get("scope") else ""
    reset = f"  resets {fmt.clock(w['reset_at'])}" if w.get("reset_at") else ""
    return f"{used_of(w)}{scope}{reset}"


def model_detail(row: Mapping[str, Any], now: float | None = None) -> Table_:
    """Everything static or long about one model: what the narrow table leaves out."""
    t = Table_.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    error = row.get("last_error")
    lines: list[tuple[str, Any]] = [
        ("state", state_text(row, now)),
        ("detail", Text(str(row.get("detail") or "-"), style="red" if row.get("detail") else "")),
        ("provider", f"{row.get('provider') or '-'}  ({row.get('dialect') or row.get('protocol') or '-'})  id {row.get('id') or '-'}"),
        ("tiers", tiers_text(row.get("tiers"))),
        ("pool", str(row.get("pool") or "-")),
        ("requests", f"{row.get('requests', '-')}  failures {row.get('failures', '-')}  ok {fmt.pct(row.get('success_rate'))}"),
        ("latency", f"p50 {fmt.ms(row.get('p50_ms'))}  first byte p50 {fmt.ms(row.get('ttfb_p50_ms'))}"),
        ("per minute", _window_line("rpm", row.get("rpm"))),
        ("per day", _window_line("rpd", row.get("rpd"))),
        ("tokens/min", _window_line("tpm", row.get("tpm"))),
        ("cache", fmt.pct(row.get("cache_hit_ratio"))),
        ("last error", Text(f"{error}  at {fmt.clock(row.get('last_error_at'))}" if error else "-", style="red" if error else "")),
    ]
    for k, v in lines:
        t.add_row(k, v)
    return t
