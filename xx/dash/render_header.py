"""The one-line header and the gateway-down banner, as pure functions of the state."""

from __future__ import annotations

import time

from rich.text import Text

from xx.dash import fmt
from xx.dash.render_models import trouble_count
from xx.dash.state import DashState


def header_text(
    state: DashState, now: float | None = None, *, paused: bool = False, filter_query: str = ""
) -> Text:
    """`xx dash  http://…  ● up  v0.1.0  up 2h03m  3.2 req/s  0.5 err/min  2 models down`."""
    now = time.time() if now is None else now
    out = Text()
    out.append("xx dash ", style="bold")
    out.append(state.url, style="underline")
    out.append("  ")
    if state.conn == "up":
        out.append("● up", style="bold green")
    elif state.conn == "down":
        out.append("✖ down", style="bold red")
    else:
        out.append("◌ connecting", style="yellow")
    info = state.health or {}
    stats = state.stats or {}
    version = info.get("version") or stats.get("version")
    started = info.get("started") or stats.get("started")
    if version:
        out.append(f"  v{version}", style="dim")
    if started and state.conn == "up":
        out.append(f"  up {fmt.duration(now - float(started))}")
    req = stats.get("requests") or {}
    if req:
        out.append(f"  {float(req.get('rps') or 0):.1f} req/s")
        epm = float(req.get("errors_per_min") or 0)
        out.append(f"  {epm:.1f} err/min", style="bold red" if epm else "")
        if req.get("in_flight"):
            out.append(f"  {req['in_flight']} in flight", style="cyan")
    bad = trouble_count(state.models)
    if bad:
        out.append(f"  {bad} model{'s' if bad != 1 else ''} out", style="bold red")
    config_error = (stats.get("config") or {}).get("error")
    if config_error:
        out.append("  config error", style="bold red")
    if filter_query:
        out.append(f"  filter: {filter_query}", style="bold cyan")
    if paused:
        out.append("  ⏸ PAUSED", style="bold reverse yellow")
    return out


def banner_text(state: DashState, now: float | None = None, *, can_start: bool = True) -> str | None:
    """What to say while the gateway is unreachable; None when it is up."""
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
    if can_start:
        retry += " · press s to start it"
    lines.append(retry.strip(" ·"))
    return "\n".join(lines)
