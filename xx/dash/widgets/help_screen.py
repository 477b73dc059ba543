"""The `?` help modal."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]xx dash[/b] — live view of the local gateway

  [b]q[/b]        quit
  [b]p[/b]        pause / resume (the screen freezes; events keep queueing)
  [b]/[/b]        filter requests: words match agent, model, status, tier, role, cache class;
           or [i]agent:claude model:kimi status:429 status:5 cache:MISS[/i] (all must match)
  [b]Esc[/b]      clear the filter
  [b]Enter[/b]    details of the selected request (attempts, errors, timings, usage, cost)
  [b]r[/b]        reset the selected model's breaker / cooldown
  [b]s[/b]        start the gateway when it is down
  [b]c[/b]        cache panel: totals → per agent → per model
  [b]Tab[/b]      move between the models table and the requests log
  [b]?[/b]        this help

States: ● healthy  ◐ degraded  ◷ cooling (seconds left)  ✖ open breaker (probe in)
        ◑ half-open (probing)  ⊘ quota exhausted (→ when it frees)  ○ no key
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "help"
            yield Static(HELP)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
