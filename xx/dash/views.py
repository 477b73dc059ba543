"""The modal views as functions of the app: each returns what its DetailScreen shows now.

Kept apart from app.py so the app stays about connections and state; each body is built by
a pure renderer from the app's state, clock and size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from xx.dash import render_agents, render_models, render_plots, render_pools

View = Callable[[Any], RenderableType]


def model(name: str) -> View:
    def body(app: Any) -> RenderableType:
        row = app.state.models.get(name)
        if row is None:
            return Text(f"{name}: no longer in the gateway's config", style="dim")
        return render_models.model_detail(row, app.clock())

    return body


def pools(app: Any) -> RenderableType:
    return render_pools.pools_table(app.state.models, app.state.pools_extra, app.clock())


def agents(app: Any) -> RenderableType:
    return render_agents.agents_view(app.state.stats, app.state.requests, app.clock())


def plots(model: str | None) -> View:
    def body(app: Any) -> RenderableType:
        width = min(int(app.size.width * 0.9), 120) - 6  # the modal box: 90% wide, borders, padding, scrollbar
        return render_plots.plots(app.series, model, app.state.stats, app.clock(), width)

    return body


def opened(name: str, model: str | None) -> tuple[str, View]:
    """Title and body of the view a key opens."""
    if name == "pools":
        return "pools and keys", pools
    if name == "agents":
        return "agents today", agents
    return f"last hour · {model or 'all models'}", plots(model)
