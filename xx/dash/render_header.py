"""The two-line header and the gateway-down banner, as pure functions of the state.

Line one is what is happening (up or stale, rates, trouble, today's cost and savings); line
two is which gateway this is (demo or not, pid, version, uptime, config file). Each line is a
list of segments with priorities, so a narrow terminal drops the least useful ones whole
instead of cutting the line. While the gateway is unreachable every number is greyed and the
line starts with how long ago it was last heard from: the numbers are a memory, not a reading.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.text import Text

from xx.dash import fmt, render_guards
from xx.dash.render_models import trouble_count
from xx.dash.state import DashState

Segment = tuple[int, Text]  # (priority: lower is kept longer, text)


def fit_segments(segments: list[Segment], width: int, sep: str = "  ") -> Text:
    """Join segments in their order, dropping the highest-priority numbers first until they fit."""
    keep = list(segments)
    while keep and sum(s.cell_len for _, s in keep) + len(sep) * (len(keep) - 1) > width:
        worst = max(range(len(keep)), key=lambda i: (keep[i][0], i))
        if keep[worst][0] == 0:
            break
        del keep[worst]
    return Text(sep).join(t for _, t in keep)


def is_demo(health: Mapping[str, Any] | None) -> bool:
    """Tolerant of where the identity puts the flag (`demo`, `is_demo`, or under `identity`)."""
    h = health or {}
    ident = h.get("identity") if isinstance(h.get("identity"), Mapping) else {}
    return bool(h.get("demo") or h.get("is_demo") or ident.get("demo"))


def demo_hint(health: Mapping[str, Any] | None, stats: Mapping[str, Any] | None) -> str:
    """For the `?` screen of a dashboard on `xx demo`'s gateway: how to point a real agent at it, whole (the
    header has room only for a shortened path, and the demo's own lines are hidden while the TUI owns the screen)."""
    if not is_demo(health):
        return ""
    from rich.markup import escape

    cfg = config_path(health, stats)
    how = f"  XX_CONFIG={escape(cfg)} xx cif\n  (any agent: xx <agent>i<tier>)\n" if cfg else ""
    return f"[b]This is xx demo's gateway[/b] (simulated providers).\nPoint a real agent at it:\n{how}\n"


def config_path(health: Mapping[str, Any] | None, stats: Mapping[str, Any] | None) -> str | None:
    h = health or {}
    cfg = h.get("config") or h.get("config_path") or ((stats or {}).get("config") or {}).get("source")
    if isinstance(cfg, Mapping):
        cfg = cfg.get("path") or cfg.get("source")
    if not cfg:
        return None
    home = str(Path.home())
    return "~" + str(cfg)[len(home) :] if str(cfg).startswith(home + "/") else str(cfg)


def _conn(state: DashState, now: float) -> Text:
    if state.conn == "up":
        return Text("● up", style="bold green")
    if state.conn == "down":
        since = state.updated_at
        age = f" · stale {fmt.duration(now - since)}" if since else ""
        return Text(f"✖ DOWN{age}", style="bold reverse red")
    return Text("◌ connecting", style="yellow")


def status_line(
    state: DashState, now: float, width: int, *, paused: bool = False, filter_query: str = ""
) -> Text:
    """`xx dash  ● up  3.2 req/s  0.5 err/min  2 in flight  1 model out  today $0.12 · saved $8.80`."""
    live = state.conn == "up"
    stats = state.stats or {}

    def num(text: str, style: str = "") -> Text:
        return Text(text, style=style if live else "dim")

    segs: list[Segment] = [(4, Text("xx dash", style="bold")), (0, _conn(state, now))]
    req = stats.get("requests") or {}
    if req:
        segs.append((1, num(f"{float(req.get('rps') or 0):.1f} req/s")))
        epm = float(req.get("errors_per_min") or 0)
        segs.append((1, num(f"{epm:.1f} err/min", "bold red" if epm else "")))
        if req.get("in_flight"):
            segs.append((3, num(f"{req['in_flight']} in flight", "cyan")))
    bad = trouble_count(state.models)
    if bad:
        segs.append((0, num(f"{bad} model{'s' if bad != 1 else ''} out", "bold red")))
    cache = stats.get("cache") or {}
    if cache:
        money = Text.assemble(
            num(f"today {fmt.usd(cache.get('cost_usd'))} spent, "),
            num(f"{fmt.usd(cache.get('saved_usd'))} saved", "green"),
        )
        segs.append((2, money))
    guards = render_guards.header_segment(stats)
    if guards is not None:
        if not live:
            guards.stylize("dim")
        segs.append((3, guards))
    if (stats.get("config") or {}).get("error"):
        segs.append((1, Text("config error", style="bold red")))
    if filter_query:
        segs.append((0, Text(f"filter: {filter_query}", style="bold cyan")))
    if paused:
        segs.append((0, Text("⏸ PAUSED", style="bold reverse yellow")))
    return fit_segments(segs, width)


def identity_line(state: DashState, now: float, width: int) -> Text:
    """`DEMO gateway  127.0.0.1:8082  pid 41234  v0.1.0  up 2h03m  config ~/.config/xx/config.toml`."""
    info = state.health or {}
    stats = state.stats or {}
    segs: list[Segment] = []
    if is_demo(info):
        segs.append((0, Text(" DEMO gateway: simulated providers ", style="bold reverse magenta")))
    segs.append((0, Text(state.url.removeprefix("http://"), style="underline")))
    if info.get("pid"):
        segs.append((1, Text(f"pid {info['pid']}")))
    version = info.get("version") or stats.get("version")
    if version:
        segs.append((3, Text(f"v{version}", style="dim")))
    started = info.get("started") or stats.get("started")
    if started and state.conn == "up":
        segs.append((2, Text(f"up {fmt.duration(now - float(started))}")))
    cfg = config_path(info, stats)
    if cfg:
        room = max(12, width - sum(t.cell_len + 2 for _, t in segs) - 7)
        path = cfg if len(cfg) <= room else "…" + cfg[-(room - 1) :]
        segs.append((1, Text.assemble(("config ", "dim"), path)))
    line = fit_segments(segs, width)
    if state.conn != "up":
        line.stylize("dim")
    return line


def header_text(
    state: DashState,
    now: float | None = None,
    *,
    paused: bool = False,
    filter_query: str = "",
    width: int = 200,
) -> Text:
    """Both header lines for a terminal `width` cells wide."""
    now = time.time() if now is None else now
    out = status_line(state, now, width, paused=paused, filter_query=filter_query)
    out.append("\n")
    out.append(identity_line(state, now, width))
    return out


def banner_text(
    state: DashState, now: float | None = None, *, can_start: bool = True, demo_url: str | None = None
) -> str | None:
    """What to say while the gateway is unreachable; None when it is up.

    `demo_url`: the gateway of a running `xx demo`, which listens on its own port, so a user
    who ran `xx demo` and then `xx dash` learns where it is instead of only how to start another.
    """
    if state.conn != "down":
        return None
    now = time.time() if now is None else now
    lines = [f"✖ gateway at {state.url} is not answering"]
    if state.down_reason:
        lines[0] += f": {fmt.clip(state.down_reason, 80)}"
    retry = ""
    if state.retry_at is not None:
        retry = f"retrying in {fmt.duration(max(0.0, state.retry_at - now))}"
    if state.down_since is not None:
        retry = f"down for {fmt.duration(now - state.down_since)} · " + retry
    if state.updated_at is not None:
        retry += f" · numbers below are from {fmt.clock(state.updated_at)}"
    if can_start:
        retry += " · press s to start it"
    lines.append(retry.strip(" ·"))
    if demo_url and demo_url.rstrip("/") != state.url.rstrip("/"):
        lines.append(f"the demo's gateway runs on {demo_url} — xx dash --url {demo_url}")
    return "\n".join(lines)
