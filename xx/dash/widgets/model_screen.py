"""The model details modal (Enter on a model): tiers, provider, pool, windows, full last error, plots."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, ClassVar

from rich.console import Console, RenderableType
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class DetailScreen(ModalScreen[None]):
    """A modal whose body is re-rendered by the app on every refresh (`update(app)`).

    `render` is a function of the app (its state, clock and size), so the modal stays live
    while the gateway keeps changing underneath it.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "close"),
        Binding("enter", "dismiss", "close", show=False),
        Binding("q", "dismiss", "close", show=False),
    ]

    def __init__(self, title: str, render: Callable[[Any], RenderableType], key: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.render_body = render
        self.key = key
        self.body = Static(id="detail-body")
        self.shown: RenderableType = ""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="exchange-box") as box:
            box.border_title = self.title_text
            box.border_subtitle = "Esc closes"
            yield self.body

    def on_mount(self) -> None:
        self.update(self.app)

    def update(self, app: Any) -> None:
        self.shown = self.render_body(app)
        self.body.update(self.shown)

    @property
    def body_text(self) -> str:
        """What the body shows, as plain text at its current width (for tests)."""
        con = Console(width=max(40, self.body.size.width or 100), file=io.StringIO(), color_system=None)
        con.print(self.shown)
        return con.file.getvalue()  # type: ignore[attr-defined,no-any-return]

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
