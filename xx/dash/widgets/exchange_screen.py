"""The Exchange details modal: attempts with errors, timings, usage, cost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from xx.dash.render_requests import exchange_detail


class ExchangeScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "close"),
        Binding("enter", "dismiss", "close", show=False),
        Binding("q", "dismiss", "close", show=False),
    ]

    def __init__(self, exchange: Mapping[str, Any]) -> None:
        super().__init__()
        self.exchange = exchange

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="exchange-box") as box:
            box.border_title = f"exchange {self.exchange.get('id')}"
            box.border_subtitle = "Esc closes"
            yield Static(exchange_detail(self.exchange), id="exchange-detail")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
