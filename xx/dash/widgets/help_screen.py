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
           or [i]agent:claude model:kimi status:429 status:5 cache:MISS token:alice guard:block[/i]
           (all must match; guard: repair, broken, block, steer, stop, command)
  [b]Esc[/b]      clear the filter
  [b]Enter[/b]    details of the selected request, or of the selected model (tiers, pool, windows)
  [b]o[/b]        pools and keys: used / limit per window, reset time, models drawing on each
  [b]a[/b]        agents today: live sessions, requests, tokens, cost, savings; guard actions; team tokens
  [b]t[/b]        the last hour as plots (the selected model's when the models table has focus)
  [b]r[/b]        reset the selected model's breaker / cooldown
  [b]s[/b]        start the gateway when it is down
  [b]c[/b]        cache panel: totals → per agent → per model
  [b]Tab[/b]      move between the models table and the requests log
  [b]?[/b]        this help

[b]Model states[/b]
  ● healthy   ◐ degraded (recent failures)   ◷ cooling (seconds left)   ✖ open breaker (probe in)
  ◑ half-open (probing)   ⊘ quota exhausted (→ when it frees)   ○ no key (variable not set)

[b]Columns[/b]
  ok      share of requests that succeeded        p50 / ttfb   median latency / first byte
  quota   the window nearest its limit: [i]used/limit[/i] per minute (/m), per UTC day (/d),
          tokens per minute (tpm); ◆ = a pool's quota, shared with other models (see [b]o[/b])
  cache   share of input tokens read from the prompt cache

[b]Requests[/b]
  kimi✓            served by kimi            kimi✗429   kimi failed with 429, the next was tried
  a → b            requested a, served by b  ⊘2         two models skipped (breaker, quota, no key)
  ✗ nothing served: REASON   no model answered; the agent got the error shown (e.g. a 429)
  after the status, what the guards did (Enter shows each action, tool and rule):
         ✎ a tool call's arguments repaired (red: broken, not repairable)   ⊗ a dangerous call blocked
         ↻ a loop of repeated tool calls: steered (yellow) or stopped (red)
  The header's [i]guards ✎3 ⊗1 ↻2[/i] counts them today; [b]a[/b] lists them, and requests per team token.
  cache: HIT most of the prompt from cache · PARTIAL some · MISS none · COLD first of a session
         NOUSAGE the provider reported no usage · REPLAY answered from the local replay cache
  A header in reverse red ([b]✖ DOWN · stale 12s[/b]) means the numbers are the last ones received.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss", "close")]

    def __init__(self, lead: str = "") -> None:
        super().__init__()
        self.lead = lead  # shown above the keys (the demo's "point an agent at it" line)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "help"
            yield Static(self.lead + HELP)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
