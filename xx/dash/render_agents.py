"""The agents view: who is using the gateway today and what it cost and saved.

Requests, tokens, cost and savings come from the gateway's per-agent aggregate (/xx/stats
`by_agent`, counted since UTC midnight); live sessions are counted here from the exchanges
seen in the last `LIVE_S` seconds, by session key.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from xx.dash import fmt, render_guards

LIVE_S = 600.0


def live_sessions(requests: Iterable[Mapping[str, Any]], now: float, window: float = LIVE_S) -> dict[str, int]:
    """Distinct session keys per agent among the exchanges that ended in the last `window` seconds."""
    seen: dict[str, set[str]] = {}
    for ex in requests:  # newest first
        if now - float(ex.get("ended") or ex.get("started") or 0) > window:
            break
        if ex.get("session"):
            seen.setdefault(str(ex.get("agent") or "-"), set()).add(str(ex["session"]))
    return {agent: len(s) for agent, s in seen.items()}


def agents_table(
    stats: Mapping[str, Any] | None, requests: Iterable[Mapping[str, Any]], now: float | None = None
) -> Table | Text:
    now = time.time() if now is None else now
    groups: Mapping[str, Mapping[str, Any]] = (stats or {}).get("by_agent") or {}
    live = live_sessions(requests, now)
    names = sorted(set(groups) | set(live), key=lambda a: -float((groups.get(a) or {}).get("requests") or 0))
    if not names:
        return Text("no agent has used this gateway today", style="dim")
    t = Table(expand=True, show_edge=False, box=None, pad_edge=False)
    t.caption = f"live = sessions seen in the last {LIVE_S / 60:.0f} min (by session key); the rest: today, as the gateway counts it"
    t.caption_justify = "left"
    for col in ("agent", "live", "requests", "errors", "in", "out", "cached", "cost", "saved"):
        t.add_column(col, justify="left" if col == "agent" else "right", header_style="bold", no_wrap=True)
    for name in names:
        g = groups.get(name) or {}
        errors = g.get("errors") or 0
        t.add_row(
            Text(name, style="bold cyan"),
            str(live.get(name, 0)),
            str(g.get("requests", 0)),
            Text(str(errors), style="red" if errors else "dim"),
            fmt.tokens(g.get("input_tokens")),
            fmt.tokens(g.get("output_tokens")),
            fmt.pct(g.get("hit_ratio")),
            fmt.usd(g.get("cost_usd")),
            Text(fmt.usd(g.get("saved_usd")), style="green"),
        )
    return t


def agents_view(
    stats: Mapping[str, Any] | None, requests: Iterable[Mapping[str, Any]], now: float | None = None
) -> RenderableType:
    """The `a` view: the agents, today's guard actions, and per team token when any request has one."""
    requests = list(requests)
    parts: list[RenderableType] = [agents_table(stats, requests, now), Text(), render_guards.summary(stats)]
    tokens = render_guards.token_table(requests, now)
    if tokens is not None:
        parts += [Text(), tokens]
    return Group(*parts)
