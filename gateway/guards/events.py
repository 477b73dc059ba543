"""The guard on a translated stream: neutral events in, neutral events out.

Translated streams already hold tool calls until the upstream ends (the emitters must check
the arguments are JSON before sending them), so holding `ToolStart`/`ToolArgs` here until `End`
costs no latency: text and thinking still stream live. At the end every call is judged; a
repaired call goes on with its fixed arguments, a blocked one becomes text explaining why, and
when no call is left the finish reason becomes a plain end of turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.guards.policy import GuardSettings, Tally, judge
from gateway.protocols.common import (
    End,
    Event,
    Failed,
    Finish,
    Start,
    Text,
    Thinking,
    ToolArgs,
    ToolStart,
    UsageSeen,
)

MAX_HELD_BYTES = 4 * 1024 * 1024  # arguments beyond this are judged as they stand (bounded memory)


class EventGuard:
    def __init__(self, schemas: Mapping[str, Mapping[str, Any]], cfg: GuardSettings, tally: Tally) -> None:
        self.schemas = schemas
        self.cfg = cfg
        self.tally = tally
        self._tools: dict[str, tuple[ToolStart, list[str]]] = {}
        self._size = 0
        self._finish: Finish | None = None
        self._over = False
        self._pre: list[Event] | None = []  # Start (and usage) held until the first content: see __call__

    def __call__(self, events: list[Event]) -> list[Event]:
        if self._over:
            return events
        out: list[Event] = []
        for ev in events:
            if self._pre is not None and self._held_before_content(ev, out):
                continue
            if isinstance(ev, ToolStart):
                self._tools.setdefault(ev.key, (ev, []))
            elif isinstance(ev, ToolArgs):
                self._hold_args(ev, out)
            elif isinstance(ev, Finish):
                self._finish = ev
            elif isinstance(ev, End):
                out.extend(self._flush())
                out.append(ev)
            elif isinstance(ev, Failed):
                self._over = True
                out.append(ev)
            else:
                out.append(ev)
        return out

    def _held_before_content(self, ev: Event, out: list[Event]) -> bool:
        """Nothing leaves before the first content, so a broken first call can still fall back."""
        assert self._pre is not None
        if isinstance(ev, Start | UsageSeen):
            self._pre.append(ev)
            return True
        if isinstance(ev, Text | Thinking | Failed):  # End: _flush decides (a broken call sends nothing)
            out.extend(self._pre)
            self._pre = None
        return False

    def _hold_args(self, ev: ToolArgs, out: list[Event]) -> None:
        held = self._tools.get(ev.key)
        if held is None:
            out.append(ev)
            return
        held[1].append(ev.delta)
        self._size += len(ev.delta)
        if self._size > MAX_HELD_BYTES:
            out.extend(self._release_raw())

    def _release_raw(self) -> list[Event]:
        """Too big to hold: send everything unjudged and stop guarding this stream."""
        self._over = True
        out: list[Event] = [*(self._pre or [])]
        self._pre = None
        for start, pieces in self._tools.values():
            out += [start, ToolArgs(start.key, "".join(pieces))]
        if self._finish is not None:
            out.append(self._finish)
        return out

    def _flush(self) -> list[Event]:
        out: list[Event] = []
        kept = 0
        for start, pieces in self._tools.values():
            d = judge(start.name, "".join(pieces), self.schemas, self.cfg)
            self.tally.add(start.name, d)
            if d.action == "broken":
                self._over = True
                self._pre = None
                return [Failed(d.explanation, "api_error")]
            if d.action == "block":
                out.append(Text(d.explanation))
                continue
            kept += 1
            out += [start, ToolArgs(start.key, d.arguments)]
        self._tools.clear()
        if self._pre is not None:  # the answer was only tool calls: its opening goes out with them
            out = [*self._pre, *out]
            self._pre = None
        finish = self._finish
        if finish is not None and finish.reason == "tool" and not kept:
            finish = Finish("end")
        if finish is not None:
            out.append(finish)
        return out


class GuardedParser:
    """A stream parser whose events pass through an EventGuard before the emitter sees them."""

    def __init__(self, parser: Any, guard: EventGuard) -> None:
        self.parser = parser
        self.guard = guard

    def feed(self, chunk: bytes) -> list[Event]:
        return self.guard(self.parser.feed(chunk))

    def close(self, reason: str | None = None) -> list[Event]:
        return self.guard(self.parser.close(reason))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.parser, name)
