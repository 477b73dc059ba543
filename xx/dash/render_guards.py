"""What the guards did (gateway/guards), and which team token sent a request, for the dashboard.

The gateway records each guard action on the Exchange as `guards: [{action, tool, rule, notes}]`
(no argument values) with the counts `repairs` and `blocks`; `/xx/stats` counts the actions in
`requests.guards` ({action: n}: today's ledger rows read at the gateway's start, then every request).
Actions: `repair` (tool-call arguments fixed), `broken` (not fixable), `block` (a dangerous call
replaced by an explanation), `steer` / `stop` (a loop of repeated calls), `command` (an in-chat
command the gateway answered). A request row shows one glyph per kind; the detail lists each.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from rich.table import Table
from rich.text import Text

from xx.dash import fmt

DAY = 86400.0
# action -> (glyph, style, words): the glyph in a row and the header, the words in the detail
ACTIONS: dict[str, tuple[str, str, str]] = {
    "repair": ("✎", "yellow", "tool call repaired"),
    "broken": ("✎", "bold red", "tool call arguments broken, not repairable"),
    "block": ("⊗", "bold red", "dangerous tool call blocked"),
    "steer": ("↻", "yellow", "loop: the agent was steered away from repeating"),
    "stop": ("↻", "bold red", "loop stopped: the gateway answered instead"),
    "command": ("⌘", "cyan", "in-chat command answered by the gateway"),
}
MARK_ORDER = ("broken", "repair", "block", "stop", "steer")  # a glyph once, in its strongest style


def acted(ex: Mapping[str, Any]) -> bool:
    """Did a guard act on this request? (Cheap: most rows have nothing to mark.)"""
    return bool(ex.get("guards") or ex.get("repairs") or ex.get("blocks"))


def actions(ex: Mapping[str, Any]) -> list[str]:
    """The guard actions on one exchange; from the counts when an older row has no list."""
    notes = [str(g.get("action")) for g in ex.get("guards") or () if isinstance(g, Mapping)]
    if not notes:
        notes = ["repair"] * int(ex.get("repairs") or 0) + ["block"] * int(ex.get("blocks") or 0)
    return notes


def marker(ex: Mapping[str, Any]) -> Text:
    """` ✎⊗↻`: one glyph per kind of guard action on this request (none: empty), for its status cell."""
    done = set(actions(ex))
    out, seen = Text(), set()
    for action in MARK_ORDER:
        glyph, style, _ = ACTIONS[action]
        if action in done and glyph not in seen:
            seen.add(glyph)
            out.append(glyph, style=style)
    if out.plain:
        out = Text(" ") + out
    return out


def guard_lines(ex: Mapping[str, Any]) -> Text | None:
    """One line per guard action, for the exchange detail: what, on which tool, by which rule, why."""
    notes = [g for g in ex.get("guards") or () if isinstance(g, Mapping)]
    if not notes:
        counts = [(n, a) for n, a in ((ex.get("repairs"), "repair"), (ex.get("blocks"), "block")) if n]
        notes = [{"action": a, "notes": [f"{n}×"]} for n, a in counts]
    if not notes:
        return None
    out = Text()
    for i, g in enumerate(notes):
        action = str(g.get("action"))
        glyph, style, words = ACTIONS.get(action, ("•", "", action))
        if i:
            out.append("\n")
        out.append(f"{glyph} {words}", style=style)
        if g.get("tool"):
            out.append(f"  {g['tool']}", style="bold")
        if g.get("rule"):
            out.append(f"  rule {g['rule']}", style="dim")
        extra = "; ".join(str(n) for n in g.get("notes") or ())
        if extra:
            out.append(f"  {extra}")
    return out


def counts(stats: Mapping[str, Any] | None) -> dict[str, int]:
    """The gateway's guard counts (`/xx/stats` requests.repairs, .blocks, .guards{action: n})."""
    req = (stats or {}).get("requests") or {}
    by = dict(req.get("guards") or {})
    by.setdefault("repair", int(req.get("repairs") or 0))
    by.setdefault("block", int(req.get("blocks") or 0))
    return {str(k): int(v or 0) for k, v in by.items()}


def header_segment(stats: Mapping[str, Any] | None) -> Text | None:
    """`guards ✎3 ⊗1 ↻2` (repaired, blocked, loops steered or stopped today); None when all are 0."""
    c = counts(stats)
    parts = [("✎", c.get("repair", 0) + c.get("broken", 0), "yellow"), ("⊗", c.get("block", 0), "bold red"),
             ("↻", c.get("stop", 0) + c.get("steer", 0), "yellow")]
    if not any(n for _, n, _ in parts):
        return None
    out = Text("guards", style="dim")
    for glyph, n, style in parts:
        out.append(" ")
        out.append(f"{glyph}{n}", style=style if n else "dim")
    return out


def summary(stats: Mapping[str, Any] | None) -> Text:
    """The agents view's line: `guards today: 3 tool calls repaired · 1 blocked · 1 loop stopped · 2 steered`."""
    c = counts(stats)
    out = Text("guards today: ", style="bold")
    out.append(" · ".join([
        f"{c.get('repair', 0)} tool calls repaired" + (f" ({c['broken']} not repairable)" if c.get("broken") else ""),
        f"{c.get('block', 0)} blocked",
        f"{c.get('stop', 0)} loops stopped",
        f"{c.get('steer', 0)} steered",
        f"{c.get('command', 0)} commands",
    ]))
    return out


def token_table(requests: Iterable[Mapping[str, Any]], now: float | None = None) -> Table | None:
    """Per team token (the ledger's `token`: the client token that sent each request), today's rows
    this dashboard holds: requests, errors, tokens in/out, cost, the instances that served them.
    None when no row has a token (a gateway without team tokens)."""
    now = time.time() if now is None else now
    midnight = now - now % DAY
    by: dict[str, dict[str, Any]] = {}
    for ex in requests:  # newest first
        if float(ex.get("ended") or ex.get("started") or 0) < midnight:
            break
        name = ex.get("token")
        if not name:
            continue
        g = by.setdefault(str(name), {"requests": 0, "errors": 0, "in": 0, "out": 0, "cost": 0.0, "inst": set()})
        usage = ex.get("usage") or {}
        g["requests"] += 1
        g["errors"] += ex.get("outcome") == "error" or int(ex.get("status") or 0) >= 400
        g["in"] += int(usage.get("input") or 0)
        g["out"] += int(usage.get("output") or 0)
        g["cost"] += float(ex.get("cost") or 0)
        if ex.get("instance"):
            g["inst"].add(str(ex["instance"]))
    if not by:
        return None
    t = Table(expand=True, show_edge=False, box=None, pad_edge=False, title="per team token",
              title_justify="left", caption="from today's requests this dashboard holds (the newest "
              "1000); the ledger has them all: xx usage", caption_justify="left")
    for col in ("token", "requests", "errors", "in", "out", "cost", "instances"):
        t.add_column(col, justify="left" if col in ("token", "instances") else "right", no_wrap=True)
    for name, g in sorted(by.items(), key=lambda kv: -kv[1]["requests"]):
        t.add_row(Text(name, style="bold magenta"), str(g["requests"]),
                  Text(str(g["errors"]), style="red" if g["errors"] else "dim"), fmt.tokens(g["in"]),
                  fmt.tokens(g["out"]), fmt.usd(g["cost"]), ", ".join(sorted(g["inst"])) or "-")
    return t
