"""One decision per finished tool call: pass it, repair its arguments, block it, or give up.

Every dialect-aware filter (neutral stream events, pass-through SSE, whole JSON bodies) calls
`judge` with the call's name and raw argument text once the arguments are complete, and
applies the verdict in its own dialect. `Tally` collects what happened for the Exchange.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.guards import danger
from gateway.guards.repair import repair


@dataclass(frozen=True)
class GuardSettings:
    """The effective guards for one request (config, tier override and launch flag resolved)."""

    repair: bool = True
    danger: bool = True
    allow: frozenset[str] = frozenset()  # danger rule names the user allows
    loop: int = 4  # repeats before a steering note; 2x stops the agent; 0 = off

    @property
    def tools_on(self) -> bool:
        return self.repair or self.danger


OFF = GuardSettings(repair=False, danger=False, loop=0)


@dataclass
class Decision:
    action: str  # pass | repair | block | broken
    arguments: str  # the text to send (repaired, or the original)
    explanation: str = ""  # block: what the user reads instead of the call; broken: the error
    rule: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Tally:
    """What the guards did to one answer: counted on the Exchange, listed (no argument values)."""

    repairs: int = 0
    blocks: int = 0
    broken: int = 0
    notes: list[dict[str, Any]] = field(default_factory=list)
    ex: Any = None  # an Exchange: counts and notes are written through to it as they happen

    def add(self, tool: str, d: Decision) -> None:
        if d.action == "pass":
            return
        if d.action == "repair":
            self.repairs += 1
        elif d.action == "block":
            self.blocks += 1
        else:
            self.broken += 1
        note = {"action": d.action, "tool": tool, "rule": d.rule or None, "notes": d.notes[:5]}
        self.notes.append(note)
        if self.ex is not None:
            self.ex.repairs, self.ex.blocks = self.ex.repairs + (d.action == "repair"), self.ex.blocks + (d.action == "block")
            self.ex.guards.append(note)


def judge(name: str, raw: str | None, schemas: Mapping[str, Mapping[str, Any]], cfg: GuardSettings) -> Decision:
    """The verdict on one complete tool call."""
    text = raw or ""
    fixed = repair(text, schemas.get(name)) if cfg.repair or cfg.danger else None
    if fixed is None or not fixed.ok:
        if not cfg.repair:
            return Decision("pass", text)
        return Decision("broken", text, f"the model's call to tool {name!r} has arguments that are not a JSON "
                                        f"object and could not be repaired", notes=fixed.notes if fixed else [])
    if cfg.danger and fixed.arguments:
        verdict = danger.check_call(name, fixed.arguments, cfg.allow)
        if verdict is not None:
            return Decision("block", text, verdict.explain(name), verdict.rule)
    if fixed.changed and cfg.repair:
        return Decision("repair", fixed.text, notes=fixed.notes)
    return Decision("pass", text)
